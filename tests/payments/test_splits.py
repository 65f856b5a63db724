"""Splits and bonuses against real databases: one journal entry empties the escrow exactly, races for the
same escrow or balance settle once, and every answer says what the money did. The books are checked after
every test (conftest)."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from services.payments import ledger
from tests.payments.helpers import Milestone, contracts_event, redelivered
from tests.payments.test_concurrency import entries, together
from tests.support import new_id


def split_requested(milestone: Milestone, refund_amount: int):
    return contracts_event("contracts.milestone.split_requested", {
        **milestone.ids, "client_id": milestone.client_id, "freelancer_id": milestone.freelancer_id,
        "amount": milestone.amount, "freelancer_amount": milestone.amount - refund_amount,
        "refund_amount": refund_amount, "client_fee_bps": milestone.client_fee_bps,
        "freelancer_fee_bps": milestone.freelancer_fee_bps})


def bonus_requested(milestone: Milestone, bonus_id: str, amount: int):
    return contracts_event("contracts.bonus.requested", {
        "bonus_id": bonus_id, "contract_id": milestone.contract_id, "client_id": milestone.client_id,
        "freelancer_id": milestone.freelancer_id, "amount": amount, "client_fee_bps": milestone.client_fee_bps,
        "freelancer_fee_bps": milestone.freelancer_fee_bps})


class TestSplit:
    def test_the_escrow_is_emptied_in_one_step_to_the_cent(self, make_any_payments):
        payments = make_any_payments()
        milestone = Milestone(amount=10_001)
        payments.fund(milestone)  # 10 001 + a client fee of 500
        client_before = payments.balance(milestone.client_id)["available"]

        assert payments.deliver(split_requested(milestone, refund_amount=6_668)).settled

        answer = payments.answers(milestone)[-1]
        assert answer["type"] == "payments.escrow.split"
        assert (answer["freelancer_amount"], answer["refund_amount"], answer["freelancer_fee"],
                answer["client_fee_refund"]) == (3_333, 6_668, 333, 333)
        assert payments.balance(milestone.freelancer_id)["pending"] == 3_000
        assert payments.balance(milestone.client_id)["available"] - client_before == 6_668 + 333
        assert payments.check()["platform_fees"] == 333 + 167
        assert entries(payments, f"escrow-split:{milestone.milestone_id}") == 1
        shown = payments.escrow(milestone.client_id, milestone.contract_id).json["milestones"][0]
        assert (shown["status"], shown["client_fee"], shown["freelancer_amount"], shown["refund_amount"],
                shown["freelancer_fee"], shown["client_fee_refund"]) == ("split", 500, 3_333, 6_668, 333, 333)
        assert payments.balance(milestone.client_id)["in_escrow"] == 0

    def test_after_the_hold_the_released_part_is_available(self, make_any_payments):
        payments = make_any_payments(payout_hold=timedelta(0))
        milestone = Milestone()
        payments.fund(milestone)
        payments.deliver(split_requested(milestone, refund_amount=4_000))
        payments.fire_timers()
        balance = payments.balance(milestone.freelancer_id)
        assert (balance["available"], balance["pending"]) == (5_400, 0)


@pytest.mark.postgres
class TestRaces:
    def test_thirty_deliveries_of_one_split_move_the_money_once(self, payments_pg):
        milestone = Milestone()
        payments_pg.fund(milestone)
        request = split_requested(milestone, refund_amount=2_500)

        results = together(30, lambda _: payments_pg.deliver(redelivered(request)))

        assert all(result.settled for result in results), Counter(r.outcome for r in results)
        assert entries(payments_pg, f"escrow-split:{milestone.milestone_id}") == 1
        answers = [a for a in payments_pg.answers(milestone) if a["type"] != "payments.escrow.funded"]
        assert len(answers) == 30 and {a["type"] for a in answers} == {"payments.escrow.split"}
        assert payments_pg.account(ledger.escrow(milestone.milestone_id)) == 0

    def test_a_split_racing_a_release_and_a_refund_lets_exactly_one_settle_the_escrow(self, payments_pg):
        first = Milestone(amount=2_000)
        milestones = [first] + [first.next() for _ in range(7)]
        for milestone in milestones:
            payments_pg.fund(milestone)
        events = [event for m in milestones
                  for event in (split_requested(m, 500), m.approved(), m.refund_requested())]

        results = together(len(events), lambda i: payments_pg.deliver(events[i]))

        assert all(result.settled for result in results)
        for milestone in milestones:
            final = {a["type"] for a in payments_pg.answers(milestone)[1:]}
            assert len(final) == 1, final  # every request is answered with the one thing the money did
            steps = sum(entries(payments_pg, f"escrow-{step}:{milestone.milestone_id}")
                        for step in ("split", "release", "refund"))
            assert steps == 1
            assert payments_pg.account(ledger.escrow(milestone.milestone_id)) == 0

    def test_a_split_meeting_a_settled_escrow_answers_what_it_did(self, payments_pg):
        released, refunded = Milestone(), Milestone()
        for milestone in (released, refunded):
            payments_pg.fund(milestone)
        payments_pg.deliver(released.approved())
        payments_pg.deliver(refunded.refund_requested())

        for milestone in (released, refunded):
            payments_pg.deliver(split_requested(milestone, 3_000))

        assert payments_pg.answers(released)[-1]["type"] == "payments.escrow.released"
        assert payments_pg.answers(refunded)[-1]["type"] == "payments.escrow.refunded"
        assert not entries(payments_pg, f"escrow-split:{released.milestone_id}")


class TestBonus:
    def test_a_bonus_is_paid_once_however_often_it_is_delivered(self, payments_pg):
        milestone = Milestone()
        payments_pg.deposit(milestone.client_id, 10_500)
        bonus_id = new_id()
        request = bonus_requested(milestone, bonus_id, 10_000)

        results = together(20, lambda _: payments_pg.deliver(redelivered(request)))

        assert all(result.settled for result in results)
        assert entries(payments_pg, f"bonus:{bonus_id}") == 1
        paid = payments_pg.emitted("payments.bonus.paid")
        assert len(paid) == 20 and {(p["data"]["client_fee"], p["data"]["freelancer_fee"]) for p in paid} == {
            (500, 1_000)}
        assert payments_pg.balance(milestone.client_id)["available"] == 0
        assert payments_pg.balance(milestone.freelancer_id)["pending"] == 9_000

    def test_without_funds_it_fails_cleanly_and_never_pays_after_a_deposit(self, make_any_payments):
        payments = make_any_payments()
        milestone = Milestone()
        payments.deposit(milestone.client_id, 10_000)
        request = bonus_requested(milestone, new_id(), 10_000)  # 10 500 with the client fee

        payments.deliver(request)
        payments.deposit(milestone.client_id, 5_000)
        payments.deliver(redelivered(request))

        failed = payments.emitted("payments.bonus.failed")
        assert [f["data"]["reason"] for f in failed] == ["insufficient_funds"] * 2
        assert not payments.emitted("payments.bonus.paid")
        assert payments.balance(milestone.client_id)["available"] == 15_000
        assert payments.balance(milestone.freelancer_id)["pending"] == 0
