"""Stories of the Hiring saga's later steps as jobs sees them, over RabbitMQ and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from shared.consumer import Outcome
from shared.tables import InboxRow
from tests.support import eventually, new_id

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]


class Saga:
    """A job with two proposals, one of them hired: the contract's events are sent from here."""

    def __init__(self, jobs):
        self.jobs = jobs
        self.owner = jobs.client()
        self.job = jobs.post_job(self.owner)
        self.chosen_freelancer, self.other_freelancer = jobs.freelancer(), jobs.freelancer()
        self.chosen = jobs.propose(self.job, self.chosen_freelancer)
        self.other = jobs.propose(self.job, self.other_freelancer)
        self.contract_id = self.hire()

    def hire(self) -> str:
        response = self.jobs.hire(self.job, self.chosen, self.owner)
        assert response.status_code == 202, response.json
        return response.json["contract_id"]

    def data(self, **extra) -> dict:
        return {"contract_id": self.contract_id, "job_id": self.job["id"], "proposal_id": self.chosen["id"],
                "client_id": self.owner.id, "freelancer_id": self.chosen_freelancer.id, **extra}

    def publish(self, type_: str, **extra):
        return self.jobs.harness.publish(type_, self.data(**extra), correlation_id=self.contract_id)

    def offered(self):
        expires = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()
        return self.publish("contracts.contract.offered", offer_expires_at=expires)

    def activated(self):
        return self.publish("contracts.contract.activated")

    def cancelled(self, end_reason: str, released_amount: int = 0):
        return self.publish("contracts.contract.cancelled", end_reason=end_reason, end_note=None,
                            released_amount=released_amount)

    def status(self, which: str = "chosen") -> str:
        return self.jobs.proposal(getattr(self, which), self.owner)["status"]

    def job_status(self) -> str:
        return self.jobs.job(self.job["id"])["status"]

    def handled(self, envelope) -> None:
        self.jobs.handled(envelope)


@pytest.fixture
def saga(jobs_live) -> Saga:
    return Saga(jobs_live)


class TestOfferMade:
    def test_an_offer_leaves_the_proposal_offer_pending(self, saga):
        saga.handled(saga.offered())

        assert saga.status() == "offer_pending"
        assert saga.job_status() == "open"


class TestContractActivated:
    def test_the_freelancer_is_hired_the_job_filled_and_the_others_declined(self, saga):
        saga.handled(saga.offered())
        saga.activated()

        eventually(lambda: saga.status() == "hired", timeout=15)
        assert saga.job_status() == "filled"
        assert saga.status("other") == "declined"
        assert saga.jobs.proposal(saga.chosen, saga.owner)["contract_id"] == saga.contract_id

    def test_the_same_event_twice_has_one_effect(self, saga):
        event = saga.activated()
        saga.jobs.harness.runtime.bus.publish([event], settled=lambda _: None)

        saga.handled(event)
        eventually(lambda: saga.status() == "hired", timeout=15)
        assert saga.jobs.harness.deliver(event).outcome is Outcome.DUPLICATE
        with saga.jobs.harness.runtime.db.transaction() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(InboxRow)
                                  .where(InboxRow.event_id == event.id)) == 1

    def test_a_repeated_activation_under_a_new_id_changes_nothing(self, saga):
        saga.handled(saga.activated())
        saga.jobs.http.post(f"/jobs/{saga.job['id']}/close", headers=saga.owner.headers)

        saga.handled(saga.activated())

        assert (saga.status(), saga.job_status(), saga.status("other")) == ("hired", "filled", "declined")

    def test_a_job_filled_takes_no_more_proposals(self, saga):
        saga.handled(saga.activated())

        response = saga.jobs.http.post(f"/jobs/{saga.job['id']}/proposals", json={"cover_letter": "Me", "amount": 500},
                                       headers=saga.jobs.freelancer().headers)

        assert response.status_code == 409


class TestContractCancelled:
    def test_failed_funding_puts_the_proposal_back_so_the_client_can_hire_again(self, saga):
        first = saga.contract_id
        saga.handled(saga.cancelled("funding_failed"))

        proposal = saga.jobs.proposal(saga.chosen, saga.owner)
        assert (proposal["status"], proposal["contract_id"]) == ("submitted", None)
        assert saga.hire() != first

    def test_a_repeated_cancellation_does_not_undo_a_new_hire(self, saga):
        failed = saga.cancelled("funding_failed")
        saga.handled(failed)
        saga.hire()

        assert saga.jobs.harness.deliver(failed).outcome is Outcome.DUPLICATE
        saga.jobs.harness.runtime.bus.publish([failed], settled=lambda _: None)
        stale = saga.jobs.harness.publish("contracts.contract.cancelled", {
            **saga.data(contract_id=failed.data["contract_id"]), "end_reason": "funding_failed", "released_amount": 0})
        saga.handled(stale)

        assert saga.status() == "offer_pending"

    @pytest.mark.parametrize("end_reason", ["declined", "withdrawn", "expired", "party_suspended"])
    def test_an_offer_that_ends_otherwise_is_declined_and_the_job_stays_open(self, saga, end_reason):
        saga.handled(saga.cancelled(end_reason))

        assert saga.status() == "declined"
        assert saga.job_status() == "open"
        assert saga.status("other") == "submitted"
        assert saga.jobs.hire(saga.job, saga.chosen, saga.owner).status_code == 409
        assert saga.jobs.hire(saga.job, saga.other, saga.owner).status_code == 202

    def test_a_hired_proposal_stays_hired_when_the_contract_ends(self, saga):
        saga.handled(saga.activated())

        saga.handled(saga.cancelled("ended_by_client", released_amount=10_000))

        assert (saga.status(), saga.job_status()) == ("hired", "filled")

    def test_an_ended_contract_that_overtook_its_activation_still_hires(self, saga):
        saga.handled(saga.cancelled("ended_by_freelancer"))
        saga.handled(saga.activated())

        assert (saga.status(), saga.job_status(), saga.status("other")) == ("hired", "filled", "declined")

    def test_a_withdrawn_proposal_stays_withdrawn(self, saga):
        saga.jobs.http.post(f"/jobs/{saga.job['id']}/proposals/{saga.other['id']}/withdraw",
                            headers=saga.other_freelancer.headers)

        saga.handled(saga.jobs.harness.publish("contracts.contract.cancelled", {
            **saga.data(proposal_id=saga.other["id"], contract_id=new_id()), "end_reason": "declined",
            "released_amount": 0}))

        assert saga.status("other") == "withdrawn"


class TestUnknownEvents:
    @pytest.mark.parametrize("type_", ["contracts.contract.offered", "contracts.contract.activated",
                                       "contracts.contract.cancelled"])
    def test_an_event_for_a_proposal_jobs_does_not_know_is_ignored(self, jobs_live, type_):
        data = {"contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(), "client_id": new_id(),
                "freelancer_id": new_id(), "offer_expires_at": "2030-01-01T00:00:00Z", "end_reason": "declined",
                "released_amount": 0}

        event = jobs_live.harness.publish(type_, data)

        jobs_live.handled(event)
        assert jobs_live.harness.deliver(event).outcome is Outcome.DUPLICATE

    def test_a_contract_that_is_not_the_proposals_current_one_is_ignored(self, saga):
        saga.handled(saga.publish("contracts.contract.activated", contract_id=new_id()))

        assert saga.status() == "offer_pending"


class TestUserSuspended:
    def test_a_suspended_clients_open_jobs_close_once_no_offer_is_pending(self, saga):
        jobs, owner = saga.jobs, saga.owner
        quiet = jobs.post_job(owner, title="Another job of theirs")
        waiting = jobs.propose(quiet, jobs.freelancer())

        saga.handled(jobs.harness.publish("users.user.suspended", {"user_id": owner.id, "reason": "fraud"}))

        assert jobs.job(quiet["id"])["status"] == "closed"
        assert jobs.proposal(waiting, owner)["status"] == "declined"
        assert saga.job_status() == "open"
        saga.handled(saga.cancelled("party_suspended"))
        assert (saga.job_status(), saga.status(), saga.status("other")) == ("closed", "declined", "declined")

    def test_a_suspended_user_posts_and_proposes_no_more(self, jobs_live):
        user = jobs_live.person("client", "freelancer")
        job = jobs_live.post_job(jobs_live.client())
        suspended = jobs_live.harness.publish("users.user.suspended", {"user_id": user.id, "reason": "spam"})
        jobs_live.handled(suspended)

        posted = jobs_live.http.post("/jobs", json={"title": "Still here", "description": "x", "budget_type": "fixed",
                                                      "budget_amount": 500}, headers=user.headers)
        proposed = jobs_live.http.post(f"/jobs/{job['id']}/proposals", json={"cover_letter": "Hi", "amount": 500},
                                         headers=user.headers)

        assert posted.status_code == proposed.status_code == 403

    def test_suspension_twice_is_harmless(self, jobs_live):
        owner = jobs_live.client()
        job = jobs_live.post_job(owner)
        for _ in range(2):
            event = jobs_live.harness.publish("users.user.suspended", {"user_id": owner.id, "reason": "spam"})
            jobs_live.handled(event)

        assert jobs_live.job(job["id"])["status"] == "closed"


class TestHireOnTheWire:
    def test_hire_requested_reaches_the_exchange_as_the_contract_promises(self, jobs_live, wire):
        wire.bind("jobs.hire.requested")
        saga = Saga(jobs_live)

        envelope, properties = wire.wait_for("jobs.hire.requested", timeout=15, contract_id=saga.contract_id)

        assert properties.content_type == "application/json"
        assert properties.delivery_mode == 2
        assert properties.message_id == envelope["id"]
        assert properties.type == envelope["type"] == "jobs.hire.requested"
        assert (envelope["version"], envelope["producer"], envelope["correlation_id"]) == (1, "jobs", saga.contract_id)
        [milestone] = envelope["data"].pop("milestones")
        assert envelope["data"] == {"contract_id": saga.contract_id, "job_id": saga.job["id"],
                                    "proposal_id": saga.chosen["id"], "client_id": saga.owner.id,
                                    "freelancer_id": saga.chosen_freelancer.id, "title": saga.job["title"],
                                    "type": "fixed", "hourly_rate": None, "weekly_limit_hours": None}
        assert (milestone["title"], milestone["amount"]) == ("Complete the project", 45_000)
        assert milestone["due_date"] is None
