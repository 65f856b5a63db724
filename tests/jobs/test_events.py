"""The jobs service's event schemas survive a trip through an envelope."""
from __future__ import annotations

from datetime import date

import pytest

from shared.events import Envelope
from tests.support import new_id

SAMPLES = {
    "jobs.job.posted": {"job_id": new_id(), "client_id": new_id(), "title": "Build a landing page",
                        "skills": ["HTML"], "budget_type": "fixed", "budget_amount": 50_000},
    "jobs.proposal.submitted": {"proposal_id": new_id(), "job_id": new_id(), "freelancer_id": new_id(),
                                "amount": 45_000, "rate": None, "client_id": new_id(), "job_title": "Build a landing page"},
    "jobs.hire.requested": {"contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(),
                            "client_id": new_id(), "freelancer_id": new_id(), "title": "Build a landing page",
                            "type": "fixed", "hourly_rate": None, "weekly_limit_hours": None,
                            "milestones": [{"milestone_id": new_id(), "title": "Design", "amount": 500,
                                            "due_date": date(2030, 1, 31)}]},
}


HOURLY = {
    "jobs.proposal.submitted": {"proposal_id": new_id(), "job_id": new_id(), "freelancer_id": new_id(),
                                "amount": None, "rate": 6_000, "client_id": new_id(), "job_title": "Keep servers patched"},
    "jobs.hire.requested": {"contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(),
                            "client_id": new_id(), "freelancer_id": new_id(), "title": "Keep servers patched",
                            "type": "hourly", "hourly_rate": 6_000, "weekly_limit_hours": 10, "milestones": []},
}


class TestJobsEvents:
    @pytest.mark.parametrize("type_", sorted(HOURLY))
    def test_an_hourly_proposal_and_hire_round_trip(self, type_):
        sent = Envelope.new(type_, HOURLY[type_], producer="jobs", correlation_id=new_id())
        assert Envelope.from_json(sent.to_json()).load() == HOURLY[type_]

    @pytest.mark.parametrize("terms", [{"milestones": []}, {"type": "hourly", "hourly_rate": 6_000},
                                       {"type": "hourly", "weekly_limit_hours": 10, "hourly_rate": 6_000,
                                        "milestones": SAMPLES["jobs.hire.requested"]["milestones"]}])
    def test_a_hire_whose_terms_do_not_match_its_type_is_refused(self, terms):
        with pytest.raises(ValueError):
            Envelope.new("jobs.hire.requested", {**SAMPLES["jobs.hire.requested"], **terms}, producer="jobs",
                         correlation_id=new_id())

    @pytest.mark.parametrize("type_", sorted(SAMPLES))
    def test_round_trip(self, type_):
        sent = Envelope.new(type_, SAMPLES[type_], producer="jobs", correlation_id=new_id())

        received = Envelope.from_json(sent.to_json())

        assert received == sent
        assert received.load() == SAMPLES[type_]
