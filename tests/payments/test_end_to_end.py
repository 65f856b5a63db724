"""Payments as it runs: its worker on RabbitMQ and PostgreSQL, contracts' requests in, answers on the wire."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.payments import ledger
from tests.payments.helpers import DESTINATION, Books, Milestone
from tests.support import eventually

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]


@pytest.fixture
def live(make_payments_live, wire):
    """Payments with its worker running and a short payout hold, and a wire listener."""
    yield make_payments_live(payout_hold=timedelta(seconds=1)), wire.bind("payments.#")


def publish(payments: Books, envelope):
    return payments.harness.publish(envelope.type, envelope.data, correlation_id=envelope.correlation_id)


class TestEscrowOverTheBus:
    def test_funding_is_answered_on_the_wire_and_shows_in_the_balance(self, live):
        payments, wire = live
        milestone = Milestone(amount=10_000)
        payments.deposit(milestone.client_id, 10_500)
        request = publish(payments, milestone.funding_requested())
        funded, properties = wire.wait_for("payments.escrow.funded", milestone_id=milestone.milestone_id)
        assert funded["data"] == {**milestone.ids, "amount": 10_000, "client_fee": 500}
        assert (funded["producer"], funded["version"]) == ("payments", 1)
        assert (funded["correlation_id"], funded["causation_id"]) == (milestone.contract_id, request.id)
        assert (properties.message_id, properties.type, properties.content_type) == (
            funded["id"], "payments.escrow.funded", "application/json")
        assert properties.delivery_mode == 2
        eventually(lambda: payments.balance(milestone.client_id)["in_escrow"] == 10_000)
        assert payments.balance(milestone.client_id)["available"] == 0

    def test_without_money_funding_fails_on_the_wire(self, live):
        payments, wire = live
        milestone = Milestone()
        publish(payments, milestone.funding_requested())
        failed, _ = wire.wait_for("payments.escrow.funding_failed", milestone_id=milestone.milestone_id)
        assert failed["data"]["reason"] == "insufficient_funds"

    def test_the_same_request_published_twice_funds_once_and_is_answered_twice(self, live):
        payments, wire = live
        milestone = Milestone()
        payments.deposit(milestone.client_id, 30_000)
        publish(payments, milestone.funding_requested())
        publish(payments, milestone.funding_requested())
        eventually(lambda: len(wire.seen("payments.escrow.funded", milestone_id=milestone.milestone_id)) == 2)
        assert payments.balance(milestone.client_id)["available"] == 30_000 - 10_500

    def test_approval_releases_and_the_hold_timer_makes_it_available(self, live):
        payments, wire = live
        milestone = Milestone(amount=10_000)
        payments.deposit(milestone.client_id, 10_500)
        publish(payments, milestone.funding_requested())
        wire.wait_for("payments.escrow.funded", milestone_id=milestone.milestone_id)
        publish(payments, milestone.approved())
        released, _ = wire.wait_for("payments.escrow.released", milestone_id=milestone.milestone_id)
        assert (released["data"]["amount"], released["data"]["freelancer_fee"]) == (10_000, 1_000)
        assert payments.balance(milestone.freelancer_id)["pending"] in (9_000, 0)
        eventually(lambda: payments.balance(milestone.freelancer_id)["available"] == 9_000, timeout=10)
        assert payments.balance(milestone.freelancer_id)["pending"] == 0

    def test_refund_gives_the_client_everything_back(self, live):
        payments, wire = live
        milestone = Milestone(amount=10_000)
        payments.deposit(milestone.client_id, 10_500)
        publish(payments, milestone.funding_requested())
        wire.wait_for("payments.escrow.funded", milestone_id=milestone.milestone_id)
        publish(payments, milestone.refund_requested())
        refunded, _ = wire.wait_for("payments.escrow.refunded", milestone_id=milestone.milestone_id)
        assert (refunded["data"]["amount"], refunded["data"]["client_fee"]) == (10_000, 500)
        eventually(lambda: payments.balance(milestone.client_id)["available"] == 10_500)


class TestPayoutOverTheBus:
    def _earned(self, payments, amount=10_000) -> str:
        milestone = Milestone(amount=amount, freelancer_fee_bps=0)
        payments.deposit(milestone.client_id, amount * 2)
        publish(payments, milestone.funding_requested())
        publish(payments, milestone.approved())
        eventually(lambda: payments.balance(milestone.freelancer_id)["available"] == amount, timeout=15)
        return milestone.freelancer_id

    def test_a_payout_ends_paid(self, live):
        payments, wire = live
        freelancer = self._earned(payments)
        payout = payments.payout(freelancer, 6_000).json
        assert payout["status"] == "pending"
        wire.wait_for("payments.payout.requested", payout_id=payout["id"])
        paid, _ = wire.wait_for("payments.payout.paid", payout_id=payout["id"])
        assert paid["data"] == {"payout_id": payout["id"], "user_id": freelancer, "amount": 6_000}
        assert paid["correlation_id"] == payout["id"]
        eventually(lambda: payments.get_payout(freelancer, payout["id"]).json["status"] == "paid")
        assert payments.balance(freelancer)["available"] == 4_000 and payments.balance(freelancer)["in_payout"] == 0
        assert payments.account(ledger.WORLD_BANKS) == 6_000

    def test_a_payout_to_a_refused_account_fails_and_the_money_comes_back(self, live):
        payments, wire = live
        freelancer = self._earned(payments)
        payout = payments.payout(freelancer, 6_000, {**DESTINATION, "account_number": "000000000"}).json
        failed, _ = wire.wait_for("payments.payout.failed", payout_id=payout["id"])
        assert failed["data"]["reason"] == "account_closed"
        eventually(lambda: payments.get_payout(freelancer, payout["id"]).json["status"] == "failed")
        assert payments.get_payout(freelancer, payout["id"]).json["failure_reason"] == "account_closed"
        assert payments.balance(freelancer)["available"] == 10_000 and payments.balance(freelancer)["in_payout"] == 0
