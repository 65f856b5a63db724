"""A suspended payee: no new payout, a pending one held (not sent) until the account is reinstated."""
from __future__ import annotations

import json

from shared.events import Envelope
from tests.payments.helpers import DESTINATION
from tests.support import assert_suspended_refusal, reinstated, suspended


def requested(payments, payout_id: str, times: int = 1) -> Envelope:
    """The latest request of the payout, after it was asked for `times` times in all."""
    events = [e for e in payments.emitted("payments.payout.requested") if e["data"]["payout_id"] == payout_id]
    assert len(events) == times, events
    return Envelope.from_json(json.dumps(events[-1]))


class TestSuspendedPayee:
    def test_a_suspended_freelancers_token_cannot_request_a_payout(self, payments):
        freelancer = payments.earn()
        assert payments.deliver(suspended(freelancer)).settled
        assert_suspended_refusal(payments.payout(freelancer, 1_000))
        assert payments.balance(freelancer)["available"] == 10_000  # reads of their own data stay
        assert payments.emitted("payments.payout.requested") == []

    def test_nor_deposit(self, payments):
        client = "6f1c2a3e-0000-4000-8000-000000000001"
        payments.deliver(suspended(client))
        assert_suspended_refusal(payments.deposit(client, 1_000))

    def test_a_pending_payout_is_held_then_sent_when_the_account_is_reinstated(self, payments):
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 4_000).json
        assert payments.deliver(suspended(freelancer)).settled
        assert payments.deliver(requested(payments, payout["id"])).settled
        held = payments.get_payout(freelancer, payout["id"]).json
        assert held["status"] == "pending" and held["settled_at"] is None
        assert payments.balance(freelancer)["in_payout"] == 4_000
        assert payments.emitted("payments.payout.paid") == []

        assert payments.deliver(reinstated(freelancer)).settled
        # Reinstated: the held payout is asked for again, and goes to the bank as any payout does.
        assert payments.deliver(requested(payments, payout["id"], times=2)).settled
        assert payments.get_payout(freelancer, payout["id"]).json["status"] == "paid"
        assert payments.balance(freelancer)["in_payout"] == 0
        [paid] = payments.emitted("payments.payout.paid")
        assert paid["data"]["payout_id"] == payout["id"]
        assert payments.payout(freelancer, 1_000, DESTINATION).status_code == 202  # writes are accepted again

    def test_a_reinstatement_sends_nothing_twice(self, payments):
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 4_000).json
        payments.deliver(requested(payments, payout["id"]))
        payments.deliver(reinstated(freelancer))
        payments.deliver(reinstated(freelancer))
        for again in [e for e in payments.emitted("payments.payout.requested")]:
            payments.deliver(Envelope.from_json(json.dumps(again)))
        assert len(payments.emitted("payments.payout.paid")) == 1
