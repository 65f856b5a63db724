"""A suspended user in jobs: writes refused, waiting proposals declined, no hire of them; reinstated, they write again."""
from __future__ import annotations

import pytest

from services.jobs import hiring
from shared.errors import Conflict
from shared.suspensions import SuspendedAccountRow
from tests.support import assert_suspended_refusal, reinstated, suspended


class TestSuspendedFreelancer:
    def test_their_waiting_proposals_are_declined(self, jobs, owner, job):
        freelancer = jobs.freelancer()
        other_job = jobs.post_job(owner, title="A second job of theirs")
        first, second = jobs.propose(job, freelancer), jobs.propose(other_job, freelancer)
        bystander = jobs.propose(job, jobs.freelancer())
        assert jobs.harness.deliver(suspended(freelancer.id)).settled
        assert jobs.proposal(first, owner)["status"] == jobs.proposal(second, owner)["status"] == "declined"
        assert jobs.proposal(bystander, owner)["status"] == "submitted"

    def test_a_client_cannot_hire_them(self, jobs, owner, job):
        freelancer = jobs.freelancer()
        proposal = jobs.propose(job, freelancer)
        jobs.harness.deliver(suspended(freelancer.id))
        response = jobs.hire(job, proposal, owner)
        assert response.status_code == 409
        assert jobs.emitted("jobs.hire.requested") == []

    def test_a_hire_is_refused_even_before_their_proposal_is_declined(self, jobs, owner, job):
        """The rule itself: a proposal whose freelancer is suspended is not hired, whatever its state."""
        freelancer = jobs.freelancer()
        proposal = jobs.propose(job, freelancer)
        with pytest.raises(Conflict, match="suspended"):
            with jobs.harness.runtime.unit_of_work() as uow:
                uow.session.add(SuspendedAccountRow(user_id=freelancer.id, reason="fraud"))
                uow.session.flush()
                hiring.hire(uow, client_id=owner.id, job_id=job["id"], proposal_id=proposal["id"], milestones=None)

    def test_their_token_writes_nothing(self, jobs, owner, job):
        freelancer = jobs.freelancer()
        proposal = jobs.propose(job, freelancer)
        jobs.harness.deliver(suspended(freelancer.id))
        assert_suspended_refusal(jobs.http.post(f"/jobs/{job['id']}/proposals", json={
            "cover_letter": "Again", "amount": 500}, headers=freelancer.headers))
        assert_suspended_refusal(jobs.http.post(f"/jobs/{job['id']}/proposals/{proposal['id']}/withdraw",
                                                headers=freelancer.headers))
        assert jobs.proposal(proposal, freelancer)["status"] == "declined"  # reading their own stays

    def test_a_suspended_clients_token_cannot_hire(self, jobs, owner, job):
        proposal = jobs.propose(job, jobs.freelancer())
        jobs.harness.deliver(suspended(owner.id))
        assert_suspended_refusal(jobs.hire(job, proposal, owner))


class TestReinstated:
    def test_they_may_propose_again_and_what_was_declined_stays_declined(self, jobs, owner, job):
        freelancer = jobs.freelancer()
        proposal = jobs.propose(job, freelancer)
        jobs.harness.deliver(suspended(freelancer.id))
        assert jobs.harness.deliver(reinstated(freelancer.id)).settled
        assert jobs.proposal(proposal, owner)["status"] == "declined"
        fresh = jobs.propose(job, freelancer, amount=40_000)
        assert jobs.hire(job, fresh, owner).status_code == 202

    def test_a_reinstated_client_posts_again(self, jobs, owner):
        jobs.harness.deliver(suspended(owner.id))
        jobs.harness.deliver(reinstated(owner.id))
        assert jobs.post_job(owner)["status"] == "open"
