"""Notifications: each saga event tells its parties, numbered per user; read marks; what they may see."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.messages.notifying import KINDS
from shared.consumer import Outcome
from tests.support import new_id

LATER = datetime.now(timezone.utc) + timedelta(days=3)


@pytest.fixture
def hired(messages):
    """A proposal, its room and a contract known from the hire."""
    proposal = messages.proposal_submitted()
    return proposal, messages.hire_requested(proposal)


class TestFromEvents:
    def test_a_proposal_tells_the_client(self, messages):
        proposal = messages.proposal_submitted()

        [notification] = messages.notifications(proposal.client_id)
        assert (notification["kind"], notification["seq"], notification["read_at"]) == ("proposal.received", 1, None)
        assert notification["resource"] == f"/jobs/{proposal.job_id}/proposals/{proposal.id}"
        assert notification["data"] == {"proposal_id": proposal.id, "job_id": proposal.job_id,
                                        "freelancer_id": proposal.freelancer_id, "client_id": proposal.client_id,
                                        "amount": 45_000}
        assert proposal.job_title in notification["text"]
        assert messages.notifications(proposal.freelancer_id) == []

    def test_a_contracts_story_tells_each_party_its_part(self, messages, hired):
        proposal, contract_id = hired
        parties = {**proposal.parties(), "contract_id": contract_id}
        milestone = {"contract_id": contract_id, "milestone_id": new_id()}

        messages.handle("contracts.contract.offered", {**parties, "offer_expires_at": LATER})
        messages.handle("payments.escrow.funded", {**milestone, "amount": 500, "client_fee": 15})
        messages.handle("contracts.contract.activated", parties)
        messages.handle("contracts.milestone.submitted", {**milestone, "auto_approve_at": LATER})
        messages.handle("contracts.milestone.approved", {**milestone, "client_id": proposal.client_id,
                                                         "freelancer_id": proposal.freelancer_id, "amount": 500,
                                                         "freelancer_fee_bps": 1000, "auto": False})
        messages.handle("payments.escrow.released", {**milestone, "freelancer_id": proposal.freelancer_id,
                                                     "amount": 500, "freelancer_fee": 50, "available_at": LATER})
        messages.handle("contracts.contract.completed", {"contract_id": contract_id, "job_id": proposal.job_id,
                                                         "client_id": proposal.client_id,
                                                         "freelancer_id": proposal.freelancer_id, "released_amount": 500})

        assert messages.kinds(proposal.freelancer_id) == [
            "offer.received", "milestone.funded", "contract.activated", "milestone.approved", "milestone.released",
            "contract.ended"]
        assert messages.kinds(proposal.client_id) == [
            "proposal.received", "contract.activated", "milestone.submitted", "contract.ended"]
        assert [n["seq"] for n in messages.notifications(proposal.freelancer_id)] == [6, 5, 4, 3, 2, 1]
        assert {n["resource"] for n in messages.notifications(proposal.freelancer_id)} == {f"/contracts/{contract_id}"}

    def test_a_failed_funding_ends_the_contract_for_the_client_only(self, messages, hired):
        proposal, contract_id = hired

        messages.handle("contracts.contract.cancelled", {**proposal.parties(), "contract_id": contract_id,
                                                         "end_reason": "funding_failed", "end_note": None,
                                                         "released_amount": 0})

        assert "contract.ended" in messages.kinds(proposal.client_id)
        assert messages.kinds(proposal.freelancer_id) == []

    def test_refunds_payouts_and_reviews(self, messages, hired):
        proposal, contract_id = hired
        payout_id, review_id = new_id(), new_id()

        messages.handle("payments.escrow.refunded", {"contract_id": contract_id, "milestone_id": new_id(),
                                                     "client_id": proposal.client_id, "amount": 500, "client_fee": 15})
        messages.handle("payments.payout.paid", {"payout_id": payout_id, "user_id": proposal.freelancer_id, "amount": 450})
        messages.handle("reviews.review.submitted", {"review_id": review_id, "contract_id": contract_id,
                                                     "reviewer_id": proposal.client_id,
                                                     "reviewee_id": proposal.freelancer_id})
        messages.handle("reviews.reviews.published", {"contract_id": contract_id, "review_ids": [review_id]})

        assert messages.kinds(proposal.client_id)[-1] == "milestone.refunded"
        paid, published = messages.notifications(proposal.freelancer_id)[1], messages.notifications(proposal.freelancer_id)[0]
        assert (paid["kind"], paid["resource"]) == ("payout.paid", f"/payments/payouts/{payout_id}")
        assert (published["kind"], published["resource"]) == ("review.published", f"/reviews?contract_id={contract_id}")

    def test_an_event_about_an_unknown_contract_is_retried(self, messages):
        event = messages.event("contracts.milestone.submitted", {"contract_id": new_id(), "milestone_id": new_id(),
                                                                 "auto_approve_at": LATER})

        assert messages.harness.deliver(event).outcome is Outcome.RETRY

    def test_an_unknown_review_is_retried(self, messages):
        event = messages.event("reviews.reviews.published", {"contract_id": new_id(), "review_ids": [new_id()]})

        assert messages.harness.deliver(event).outcome is Outcome.RETRY

    def test_every_kind_comes_from_an_event_of_the_catalog(self):
        from shared.events import CATALOG

        assert {kind.event for kind in KINDS} <= {name for name, _ in CATALOG}

    def test_a_message_tells_the_other_party(self, messages):
        proposal = messages.proposal_submitted()
        room_id = messages.room_of(proposal)["id"]

        message = messages.posted(room_id, proposal.client_id, "Hi")

        [notification] = messages.notifications(proposal.freelancer_id)
        assert (notification["kind"], notification["resource"]) == ("message.received", f"/rooms/{room_id}")
        assert notification["data"]["message_id"] == message["id"]
        assert "Hi" not in notification["text"]


class TestReading:
    def test_unread_count_mark_one_and_all(self, messages):
        proposal = messages.proposal_submitted()
        for _ in range(2):
            messages.proposal_submitted(proposal.__class__(client_id=proposal.client_id))
        user = proposal.client_id
        headers = messages.harness.headers(user)
        newest = messages.notifications(user)[0]

        assert messages.get("/notifications/unread-count", user).json == {"unread_count": 3}
        first = messages.client.post(f"/notifications/{newest['id']}/read", headers=headers).json
        again = messages.client.post(f"/notifications/{newest['id']}/read", headers=headers).json
        assert first["read_at"] is not None and again["read_at"] == first["read_at"]
        assert len(messages.notifications(user, unread="true")) == 2
        assert messages.client.post("/notifications/read-all", headers=headers).json == {"marked": 2}
        assert messages.get("/notifications/unread-count", user).json == {"unread_count": 0}

    def test_others_notifications_are_not_found(self, messages):
        proposal = messages.proposal_submitted()
        [notification] = messages.notifications(proposal.client_id)

        response = messages.client.post(f"/notifications/{notification['id']}/read",
                                        headers=messages.harness.headers(new_id()))

        assert response.status_code == 404

    def test_filtered_by_kind(self, messages):
        proposal = messages.proposal_submitted()

        assert len(messages.notifications(proposal.client_id, kind="proposal.received")) == 1
        assert messages.notifications(proposal.client_id, kind="payout.paid") == []


@pytest.mark.postgres
class TestSequenceUnderRaces:
    def test_concurrent_notifications_of_one_user_are_numbered_without_gaps(self, messages_pg):
        from concurrent.futures import ThreadPoolExecutor

        client_id = new_id()
        from tests.messages.helpers import Proposal

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: messages_pg.proposal_submitted(Proposal(client_id=client_id)), range(16)))

        seqs = sorted(n["seq"] for n in messages_pg.notifications(client_id, limit=100))
        assert seqs == list(range(1, 17))
