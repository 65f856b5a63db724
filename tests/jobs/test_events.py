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
                                "amount": 45_000, "client_id": new_id(), "job_title": "Build a landing page"},
    "jobs.hire.requested": {"contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(),
                            "client_id": new_id(), "freelancer_id": new_id(), "title": "Build a landing page",
                            "milestones": [{"milestone_id": new_id(), "title": "Design", "amount": 500,
                                            "due_date": date(2030, 1, 31)}]},
}


class TestJobsEvents:
    @pytest.mark.parametrize("type_", sorted(SAMPLES))
    def test_round_trip(self, type_):
        sent = Envelope.new(type_, SAMPLES[type_], producer="jobs", correlation_id=new_id())

        received = Envelope.from_json(sent.to_json())

        assert received == sent
        assert received.load() == SAMPLES[type_]
