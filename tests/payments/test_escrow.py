"""Escrow: contracts asks, payments moves the money once and always answers with what it did."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.payments import escrow, ledger
from shared.db import utcnow
from tests.payments.helpers import Milestone, redelivered
from tests.support import eventually, new_id


class TestFundMilestone:
    def test_funding_moves_the_amount_to_escrow_and_the_client_fee_to_the_platform(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone(amount=10_000, client_fee_bps=500)
        payments.deposit(milestone.client_id, 12_000)
        assert payments.deliver(milestone.funding_requested()).settled
        assert payments.answers(milestone) == [{"type": "payments.escrow.funded", **milestone.ids,
                                             "amount": 10_000, "client_fee": 500}]
        assert payments.balance(milestone.client_id) == {"user_id": milestone.client_id, "currency": "USD",
                                                      "available": 1_500, "pending": 0, "in_escrow": 10_000,
                                                      "in_payout": 0}
        assert payments.account(ledger.escrow(milestone.milestone_id)) == 10_000
        kinds = [(item["kind"], item["amount"]) for item in payments.transactions(milestone.client_id)["items"]]
        assert sorted(kinds) == [("client_fee", -500), ("deposit", 12_000), ("escrow_fund", -10_000)]

    def test_not_enough_money_fails_as_insufficient_funds_and_charges_nothing(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone(amount=10_000)
        payments.deposit(milestone.client_id, 10_400)
        payments.deliver(milestone.funding_requested())
        assert payments.answers(milestone) == [{"type": "payments.escrow.funding_failed", **milestone.ids,
                                             "reason": "insufficient_funds"}]
        assert payments.balance(milestone.client_id)["available"] == 10_400

    def test_after_a_failure_the_client_may_deposit_and_fund_again(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone(amount=10_000)
        payments.deliver(milestone.funding_requested())
        payments.deposit(milestone.client_id, 10_500)
        payments.deliver(milestone.funding_requested())
        assert [a["type"] for a in payments.answers(milestone)] == ["payments.escrow.funding_failed",
                                                                 "payments.escrow.funded"]
        assert payments.balance(milestone.client_id)["available"] == 0

    def test_a_repeated_request_funds_once_and_answers_funded_again(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone()
        payments.fund(milestone)
        envelope = milestone.funding_requested()
        payments.deliver(envelope)
        payments.deliver(envelope)
        payments.deliver(redelivered(envelope))
        assert [a["type"] for a in payments.answers(milestone)] == ["payments.escrow.funded"] * 3
        assert payments.balance(milestone.client_id)["in_escrow"] == milestone.amount

    @pytest.mark.parametrize("amount, bps, fee", [(10_000, 500, 500), (10, 500, 1), (9, 500, 0), (1_999, 250, 50),
                                                  (12_345, 0, 0), (500, 10_000, 500)])
    def test_fees_are_rounded_half_up_to_the_cent(self, amount, bps, fee):
        assert ledger.fee(amount, bps) == fee


class TestReleaseMilestone:
    def test_release_pays_the_freelancer_pending_less_the_fee(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone(amount=10_000, freelancer_fee_bps=1000)
        payments.fund(milestone)
        payments.deliver(milestone.approved())
        released = payments.answers(milestone)[-1]
        assert released["type"] == "payments.escrow.released"
        assert (released["amount"], released["freelancer_fee"], released["freelancer_id"]) == (10_000, 1_000,
                                                                                                milestone.freelancer_id)
        assert released["available_at"].endswith("Z")
        assert payments.balance(milestone.freelancer_id)["pending"] == 9_000
        assert payments.balance(milestone.client_id)["in_escrow"] == 0
        assert payments.account(ledger.PLATFORM_FEES) == 1_500

    def test_the_hold_ends_and_the_money_becomes_available(self, make_any_payments):
        hold = timedelta(seconds=1)
        payments, milestone = make_any_payments(payout_hold=hold), Milestone(amount=10_000)
        payments.fund(milestone)
        approved = utcnow()
        payments.deliver(milestone.approved())
        [(kind, key, due_at)] = payments.timers()
        assert (kind, key) == (escrow.HOLD_END, milestone.milestone_id) and due_at >= approved + hold
        eventually(lambda: payments.fire_timers(), timeout=5)
        assert payments.balance(milestone.freelancer_id) == {"user_id": milestone.freelancer_id, "currency": "USD",
                                                          "available": 9_000, "pending": 0, "in_escrow": 0,
                                                          "in_payout": 0}
        kinds = sorted((i["kind"], i["amount"]) for i in payments.transactions(milestone.freelancer_id)["items"])
        assert kinds == [("escrow_release", 9_000), ("hold_end", -9_000), ("hold_end", 9_000)]

    def test_a_repeated_approval_releases_once_and_answers_released_again(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone()
        payments.fund(milestone)
        payments.deliver(milestone.approved())
        payments.deliver(milestone.approved(auto=True))
        first, second = payments.answers(milestone)[-2:]
        assert first == second and first["type"] == "payments.escrow.released"
        assert payments.balance(milestone.freelancer_id)["pending"] == 9_000

    def test_an_approval_before_the_funding_is_retried_and_pays_nothing(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone()
        assert payments.deliver(milestone.approved()).outcome.value == "retry"
        assert payments.answers(milestone) == []
        assert payments.balance(milestone.freelancer_id)["pending"] == 0


class TestRefundMilestone:
    def test_refund_returns_the_amount_and_exactly_the_client_fee(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone(amount=10_000, client_fee_bps=500)
        payments.fund(milestone)
        payments.deliver(milestone.refund_requested())
        assert payments.answers(milestone)[-1] == {"type": "payments.escrow.refunded", **milestone.ids,
                                                "client_id": milestone.client_id, "amount": 10_000,
                                                "client_fee": 500}
        assert payments.balance(milestone.client_id)["available"] == 10_500
        assert payments.account(ledger.PLATFORM_FEES) == 0
        kinds = {item["kind"] for item in payments.transactions(milestone.client_id)["items"]}
        assert {"escrow_refund", "client_fee_refund"} <= kinds

    def test_the_fee_refunded_is_the_one_taken_even_if_the_rate_changed(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone(amount=10_000, client_fee_bps=300)
        payments.fund(milestone)
        payments.deliver(milestone.refund_requested())
        assert payments.answers(milestone)[-1]["client_fee"] == 300
        assert payments.balance(milestone.client_id)["available"] == 10_300


class TestLateAndRepeatedRequests:
    """Each request meets the escrow as it is and is answered with what the money really did."""

    def test_an_approval_after_a_refund_answers_refunded(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone()
        payments.fund(milestone)
        payments.deliver(milestone.refund_requested())
        payments.deliver(milestone.approved())
        assert [a["type"] for a in payments.answers(milestone)][-2:] == ["payments.escrow.refunded"] * 2
        assert payments.balance(milestone.freelancer_id)["pending"] == 0

    def test_a_refund_after_a_release_answers_released(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone()
        payments.fund(milestone)
        payments.deliver(milestone.approved())
        payments.deliver(milestone.refund_requested())
        assert [a["type"] for a in payments.answers(milestone)][-2:] == ["payments.escrow.released"] * 2
        assert payments.balance(milestone.client_id)["available"] == 0

    def test_a_refund_of_a_milestone_never_funded_closes_it_empty(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone()
        payments.deposit(milestone.client_id, 20_000)
        payments.deliver(milestone.refund_requested())
        assert payments.answers(milestone) == [{"type": "payments.escrow.refunded", **milestone.ids,
                                             "client_id": milestone.client_id, "amount": 0, "client_fee": 0}]
        payments.deliver(milestone.funding_requested())
        assert payments.answers(milestone)[-1] == {"type": "payments.escrow.funding_failed", **milestone.ids,
                                                "reason": "cancelled"}
        assert payments.balance(milestone.client_id)["available"] == 20_000

    def test_funding_a_released_milestone_again_answers_released(self, make_any_payments):
        payments, milestone = make_any_payments(), Milestone()
        payments.fund(milestone)
        payments.deliver(milestone.approved())
        payments.deposit(milestone.client_id, 20_000)
        payments.deliver(milestone.funding_requested())
        assert payments.answers(milestone)[-1]["type"] == "payments.escrow.released"
        assert payments.balance(milestone.client_id)["available"] == 20_000


class TestContractEscrow:
    def test_the_parties_see_each_milestone_and_what_is_held(self, payments):
        first = Milestone(amount=10_000)
        second, third = first.next(amount=20_000), first.next(amount=5_000)
        for milestone in (first, second, third):
            payments.fund(milestone)
        payments.deliver(second.approved())
        payments.deliver(third.refund_requested())
        for party in (first.client_id, first.freelancer_id):
            response = payments.escrow(party, first.contract_id)
            assert response.status_code == 200, response.json
            assert response.json["held_amount"] == 10_000
            assert [(m["milestone_id"], m["amount"], m["status"]) for m in response.json["milestones"]] == [
                (first.milestone_id, 10_000, "held"), (second.milestone_id, 20_000, "released"),
                (third.milestone_id, 5_000, "refunded")]

    def test_strangers_and_unknown_contracts_are_404(self, payments):
        milestone = Milestone()
        payments.fund(milestone)
        assert payments.escrow(new_id(), milestone.contract_id).status_code == 404
        assert payments.escrow(milestone.client_id, new_id()).status_code == 404
        assert payments.client.get(f"/payments/escrow/{milestone.contract_id}").status_code == 401
