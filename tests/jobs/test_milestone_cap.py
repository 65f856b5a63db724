"""Bounded: a hire plans at most 20 milestones (a contract lists no more; contracts refuses a 21st added later)."""
from __future__ import annotations

import pytest


@pytest.fixture
def proposal(jobs, job):
    return jobs.propose(job, jobs.freelancer(), amount=42_000)


class TestHireAtMostTwentyMilestones:
    def test_twenty_milestones_are_hired(self, jobs, owner, job, proposal):
        plan = [{"title": f"Part {n + 1}", "amount": 500} for n in range(20)]

        assert jobs.hire(job, proposal, owner, {"milestones": plan}).status_code == 202

        assert len(jobs.emitted("jobs.hire.requested")[0]["data"]["milestones"]) == 20

    def test_a_21st_is_refused_naming_the_field_and_nothing_is_hired(self, jobs, owner, job, proposal):
        plan = [{"title": f"Part {n + 1}", "amount": 500} for n in range(21)]

        response = jobs.hire(job, proposal, owner, {"milestones": plan})

        assert response.status_code == 422
        assert response.mimetype == "application/problem+json"
        assert "milestones" in response.json["errors"]
        assert jobs.emitted("jobs.hire.requested") == []
        assert jobs.proposal(proposal, owner)["status"] == "submitted"
        plan.pop()
        assert jobs.hire(job, proposal, owner, {"milestones": plan}).status_code == 202
