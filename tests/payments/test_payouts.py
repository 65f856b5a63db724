"""Payouts: a freelancer's available money goes to a bank, or comes back when the bank refuses it."""
from __future__ import annotations

import json

import sqlalchemy as sa

from services.payments import ledger
from services.payments.models import Payout
from shared.events import Envelope
from tests.payments.helpers import DESTINATION, Milestone, redelivered
from tests.support import eventually, new_id

REFUSED = {**DESTINATION, "account_number": "000000000"}


def requested(payments, payout_id: str) -> Envelope:
    (event,) = [e for e in payments.emitted("payments.payout.requested") if e["data"]["payout_id"] == payout_id]
    return Envelope.from_json(json.dumps(event))


class TestRequestPayout:
    def test_the_money_is_set_aside_at_once_and_the_payout_is_pending(self, payments):
        freelancer = payments.earn()
        response = payments.payout(freelancer, 4_000)
        assert response.status_code == 202, response.json
        payout = response.json
        assert (payout["status"], payout["amount"], payout["currency"]) == ("pending", 4_000, "USD")
        assert payout["destination"] == {"type": "bank_account", "account_number": "*****6789",
                                         "routing_number": DESTINATION["routing_number"]}
        assert payout["failure_reason"] is None and payout["settled_at"] is None
        assert response.headers["Location"] == f"/payments/payouts/{payout['id']}"
        assert payments.balance(freelancer)["available"] == 6_000
        assert payments.balance(freelancer)["in_payout"] == 4_000
        event = requested(payments, payout["id"])
        assert event.data == {"payout_id": payout["id"], "user_id": freelancer, "amount": 4_000}
        assert event.correlation_id == payout["id"]

    def test_more_than_the_available_balance_is_409(self, payments):
        freelancer = payments.earn(1_000)
        assert payments.payout(freelancer, 1_001).status_code == 409
        assert payments.balance(freelancer)["available"] == 1_000

    def test_pending_money_cannot_be_paid_out(self, payments):
        milestone = Milestone()
        payments.fund(milestone)
        payments.deliver(milestone.approved())
        assert payments.payout(milestone.freelancer_id, 100).status_code == 409

    def test_validation(self, payments):
        freelancer = new_id()
        assert payments.payout(freelancer, 99).status_code == 422
        response = payments.payout(freelancer, 100, {**DESTINATION, "type": "card"})
        assert response.status_code == 422 and "destination.type" in response.json["errors"]
        assert payments.payout(freelancer, 100, {**DESTINATION, "routing_number": "12"}).status_code == 422

    def test_only_freelancers_request_payouts(self, payments):
        response = payments.client.post("/payments/payouts", json={"amount": 100, "destination": DESTINATION},
                                     headers=payments.headers(new_id(), "client"))
        assert response.status_code == 403

    def test_the_same_idempotency_key_sets_money_aside_once(self, payments):
        freelancer = payments.earn()
        first = payments.payout(freelancer, 3_000, **{"Idempotency-Key": "p-1"})
        again = payments.payout(freelancer, 3_000, **{"Idempotency-Key": "p-1"})
        assert first.status_code == again.status_code == 202 and first.json == again.json
        assert payments.balance(freelancer)["in_payout"] == 3_000


class TestSettlePayout:
    def test_the_bank_pays_and_the_money_leaves_the_books(self, payments):
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 4_000).json
        assert payments.deliver(requested(payments, payout["id"])).settled
        settled = payments.get_payout(freelancer, payout["id"]).json
        assert settled["status"] == "paid" and settled["settled_at"] is not None
        assert payments.balance(freelancer) | {"user_id": None} == {
            "user_id": None, "currency": "USD", "available": 6_000, "pending": 0, "in_escrow": 0, "in_payout": 0}
        assert payments.account(ledger.WORLD_BANKS) == 4_000
        (paid,) = payments.emitted("payments.payout.paid")
        assert paid["data"] == {"payout_id": payout["id"], "user_id": freelancer, "amount": 4_000}

    def test_a_refused_payout_fails_and_the_money_comes_back(self, payments):
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 4_000, REFUSED).json
        payments.deliver(requested(payments, payout["id"]))
        settled = payments.get_payout(freelancer, payout["id"]).json
        assert (settled["status"], settled["failure_reason"]) == ("failed", "account_closed")
        assert payments.balance(freelancer)["available"] == 10_000
        assert payments.balance(freelancer)["in_payout"] == 0
        (failed,) = payments.emitted("payments.payout.failed")
        assert failed["data"]["reason"] == "account_closed"
        kinds = [(i["kind"], i["amount"]) for i in payments.transactions(freelancer)["items"]]
        assert kinds.count(("payout_return", 4_000)) == 1 and kinds.count(("payout_return", -4_000)) == 1

    def test_a_redelivered_request_settles_once(self, payments):
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 4_000).json
        event = requested(payments, payout["id"])
        payments.deliver(event)
        payments.deliver(redelivered(event))
        assert payments.account(ledger.WORLD_BANKS) == 4_000
        assert len(payments.emitted("payments.payout.paid")) == 1

    def test_only_the_owner_sees_a_payout(self, payments):
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 1_000).json
        assert payments.get_payout(new_id(), payout["id"]).status_code == 404
        assert payments.get_payout(freelancer, new_id()).status_code == 404

    def test_the_full_account_number_never_leaves_the_service(self, payments):
        freelancer = payments.earn()
        secret = {**DESTINATION, "account_number": "987654321012"}
        payout = payments.payout(freelancer, 1_000, secret).json
        assert "987654321012" not in str(payout) and payout["destination"]["account_number"].endswith("1012")
        assert all("987654321012" not in str(event) for event in payments.emitted())
        with payments.db.transaction() as session:
            assert session.get(Payout, payout["id"]).account_number == "987654321012"
            assert session.scalar(sa.select(sa.func.count()).select_from(Payout)) == 1


class TestPayoutInTheEmbeddedMode:
    def test_the_worker_settles_a_payout_without_a_broker(self, payments):
        """What `make run` does: payments hands its own payout request to its own worker in-process."""
        payments.harness.start_worker()
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 2_500).json
        eventually(lambda: payments.get_payout(freelancer, payout["id"]).json["status"] == "paid")
        assert payments.balance(freelancer)["available"] == 7_500 and payments.balance(freelancer)["in_payout"] == 0
