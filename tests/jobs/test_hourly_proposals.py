"""Hourly jobs: a proposal names its `rate` and no amount; a hire names its weekly limit and no milestones;
the hire asks contracts for an hourly contract; on both databases."""
from __future__ import annotations

import pytest


@pytest.fixture
def hourly_job(any_jobs):
    owner = any_jobs.client()
    return any_jobs, owner, any_jobs.post_job(owner, budget_type="hourly", budget_amount=None, hourly_rate_max=8_000)


class TestHourlyProposals:
    def test_a_rate_is_proposed_even_above_the_jobs_maximum(self, hourly_job):
        jobs, _, job = hourly_job
        proposal = jobs.propose(job, jobs.freelancer(), amount=None, rate=9_000)
        assert (proposal["rate"], proposal["amount"]) == (9_000, None)
        assert jobs.emitted("jobs.proposal.submitted")[-1]["data"]["rate"] == 9_000

    @pytest.mark.parametrize("body, field", [({"amount": 5_000}, "amount"), ({}, "rate"),
                                             ({"rate": 99}, "rate"), ({"rate": 1_000_001}, "rate"),
                                             ({"rate": "12"}, "rate")])
    def test_an_hourly_proposal_without_a_sound_rate_or_with_an_amount_is_refused(self, hourly_job, body, field):
        jobs, _, job = hourly_job
        response = jobs.http.post(f"/jobs/{job['id']}/proposals", json={"cover_letter": "Hi", **body},
                                  headers=jobs.freelancer().headers)
        assert response.status_code == 422 and field in response.json["errors"], response.json

    def test_a_fixed_job_refuses_a_rate(self, any_jobs):
        job = any_jobs.post_job(any_jobs.client())
        response = any_jobs.http.post(f"/jobs/{job['id']}/proposals", json={
            "cover_letter": "Hi", "amount": 5_000, "rate": 5_000}, headers=any_jobs.freelancer().headers)
        assert response.status_code == 422 and list(response.json["errors"]) == ["rate"]


class TestHourlyHire:
    def test_a_hire_with_a_weekly_limit_asks_for_an_hourly_contract(self, hourly_job):
        jobs, owner, job = hourly_job
        proposal = jobs.propose(job, jobs.freelancer(), amount=None, rate=6_000)
        response = jobs.hire(job, proposal, owner, {"weekly_limit_hours": 15})
        assert (response.status_code, response.json["status"]) == (202, "offer_pending")
        asked = jobs.emitted("jobs.hire.requested")[-1]["data"]
        assert (asked["type"], asked["hourly_rate"], asked["weekly_limit_hours"], asked["milestones"]) == (
            "hourly", 6_000, 15, [])

    @pytest.mark.parametrize("body, field", [({}, "weekly_limit_hours"), ({"weekly_limit_hours": 0},
                                                                          "weekly_limit_hours"),
                                             ({"weekly_limit_hours": 81}, "weekly_limit_hours"),
                                             ({"weekly_limit_hours": 10, "milestones": [
                                                 {"title": "A", "amount": 5_000}]}, "milestones")])
    def test_an_hourly_hire_needs_a_limit_and_no_milestones(self, hourly_job, body, field):
        jobs, owner, job = hourly_job
        proposal = jobs.propose(job, jobs.freelancer(), amount=None, rate=6_000)
        response = jobs.hire(job, proposal, owner, body)
        assert response.status_code == 422 and field in response.json["errors"], response.json
        assert jobs.proposal(proposal, owner)["status"] == "submitted"

    def test_a_fixed_hire_refuses_a_weekly_limit(self, any_jobs):
        owner = any_jobs.client()
        job = any_jobs.post_job(owner)
        proposal = any_jobs.propose(job, any_jobs.freelancer())
        response = any_jobs.hire(job, proposal, owner, {"weekly_limit_hours": 10})
        assert response.status_code == 422 and list(response.json["errors"]) == ["weekly_limit_hours"]
