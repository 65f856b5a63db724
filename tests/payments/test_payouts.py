"""Payouts: a freelancer's available money goes to a bank, or comes back when the bank refuses it."""
from __future__ import annotations

import json

import sqlalchemy as sa

from services.payments import ledger
from services.payments.models import Payout
from shared.events import Envelope
from tests.payments.story import DESTINATION, Milestone, redelivered
from tests.support import eventually, new_id

REFUSED = {**DESTINATION, "account_number": "000000000"}


def requested(books, payout_id: str) -> Envelope:
    (event,) = [e for e in books.emitted("payments.payout.requested") if e["data"]["payout_id"] == payout_id]
    return Envelope.from_json(json.dumps(event))


class TestRequestPayout:
    def test_the_money_is_set_aside_at_once_and_the_payout_is_pending(self, books):
        freelancer = books.earn()
        response = books.payout(freelancer, 4_000)
        assert response.status_code == 202, response.json
        payout = response.json
        assert (payout["status"], payout["amount"], payout["currency"]) == ("pending", 4_000, "USD")
        assert payout["destination"] == {"type": "bank_account", "account_number": "*****6789",
                                         "routing_number": DESTINATION["routing_number"]}
        assert payout["failure_reason"] is None and payout["settled_at"] is None
        assert response.headers["Location"] == f"/payments/payouts/{payout['id']}"
        assert books.balance(freelancer)["available"] == 6_000
        assert books.balance(freelancer)["in_payout"] == 4_000
        event = requested(books, payout["id"])
        assert event.data == {"payout_id": payout["id"], "user_id": freelancer, "amount": 4_000}
        assert event.correlation_id == payout["id"]

    def test_more_than_the_available_balance_is_409(self, books):
        freelancer = books.earn(1_000)
        assert books.payout(freelancer, 1_001).status_code == 409
        assert books.balance(freelancer)["available"] == 1_000

    def test_pending_money_cannot_be_paid_out(self, books):
        milestone = Milestone()
        books.fund(milestone)
        books.deliver(milestone.approved())
        assert books.payout(milestone.freelancer_id, 100).status_code == 409

    def test_validation(self, books):
        freelancer = new_id()
        assert books.payout(freelancer, 99).status_code == 422
        response = books.payout(freelancer, 100, {**DESTINATION, "type": "card"})
        assert response.status_code == 422 and "destination.type" in response.json["errors"]
        assert books.payout(freelancer, 100, {**DESTINATION, "routing_number": "12"}).status_code == 422

    def test_only_freelancers_request_payouts(self, books):
        response = books.client.post("/payments/payouts", json={"amount": 100, "destination": DESTINATION},
                                     headers=books.headers(new_id(), "client"))
        assert response.status_code == 403

    def test_the_same_idempotency_key_sets_money_aside_once(self, books):
        freelancer = books.earn()
        first = books.payout(freelancer, 3_000, **{"Idempotency-Key": "p-1"})
        again = books.payout(freelancer, 3_000, **{"Idempotency-Key": "p-1"})
        assert first.status_code == again.status_code == 202 and first.json == again.json
        assert books.balance(freelancer)["in_payout"] == 3_000


class TestSettlePayout:
    def test_the_bank_pays_and_the_money_leaves_the_books(self, books):
        freelancer = books.earn()
        payout = books.payout(freelancer, 4_000).json
        assert books.deliver(requested(books, payout["id"])).settled
        settled = books.get_payout(freelancer, payout["id"]).json
        assert settled["status"] == "paid" and settled["settled_at"] is not None
        assert books.balance(freelancer) | {"user_id": None} == {
            "user_id": None, "currency": "USD", "available": 6_000, "pending": 0, "in_escrow": 0, "in_payout": 0}
        assert books.account(ledger.WORLD_BANKS) == 4_000
        (paid,) = books.emitted("payments.payout.paid")
        assert paid["data"] == {"payout_id": payout["id"], "user_id": freelancer, "amount": 4_000}

    def test_a_refused_payout_fails_and_the_money_comes_back(self, books):
        freelancer = books.earn()
        payout = books.payout(freelancer, 4_000, REFUSED).json
        books.deliver(requested(books, payout["id"]))
        settled = books.get_payout(freelancer, payout["id"]).json
        assert (settled["status"], settled["failure_reason"]) == ("failed", "account_closed")
        assert books.balance(freelancer)["available"] == 10_000
        assert books.balance(freelancer)["in_payout"] == 0
        (failed,) = books.emitted("payments.payout.failed")
        assert failed["data"]["reason"] == "account_closed"
        kinds = [(i["kind"], i["amount"]) for i in books.transactions(freelancer)["items"]]
        assert kinds.count(("payout_return", 4_000)) == 1 and kinds.count(("payout_return", -4_000)) == 1

    def test_a_redelivered_request_settles_once(self, books):
        freelancer = books.earn()
        payout = books.payout(freelancer, 4_000).json
        event = requested(books, payout["id"])
        books.deliver(event)
        books.deliver(redelivered(event))
        assert books.account(ledger.WORLD_BANKS) == 4_000
        assert len(books.emitted("payments.payout.paid")) == 1

    def test_only_the_owner_sees_a_payout(self, books):
        freelancer = books.earn()
        payout = books.payout(freelancer, 1_000).json
        assert books.get_payout(new_id(), payout["id"]).status_code == 404
        assert books.get_payout(freelancer, new_id()).status_code == 404

    def test_the_full_account_number_never_leaves_the_service(self, books):
        freelancer = books.earn()
        secret = {**DESTINATION, "account_number": "987654321012"}
        payout = books.payout(freelancer, 1_000, secret).json
        assert "987654321012" not in str(payout) and payout["destination"]["account_number"].endswith("1012")
        assert all("987654321012" not in str(event) for event in books.emitted())
        with books.db.transaction() as session:
            assert session.get(Payout, payout["id"]).account_number == "987654321012"
            assert session.scalar(sa.select(sa.func.count()).select_from(Payout)) == 1


class TestPayoutInTheEmbeddedMode:
    def test_the_worker_settles_a_payout_without_a_broker(self, books):
        """What `make run` does: payments hands its own payout request to its own worker in-process."""
        books.harness.start_worker()
        freelancer = books.earn()
        payout = books.payout(freelancer, 2_500).json
        eventually(lambda: books.get_payout(freelancer, payout["id"]).json["status"] == "paid")
        assert books.balance(freelancer)["available"] == 7_500 and books.balance(freelancer)["in_payout"] == 0
