"""Crashes: a step that dies half-way leaves nothing behind, and its redelivery does it exactly once."""
from __future__ import annotations

import json

import pytest

from services.payments import escrow, ledger
from shared.consumer import Outcome
from shared.events import Envelope
from tests.payments.helpers import Milestone


class Crash(RuntimeError):
    pass


def crash_once(monkeypatch, module, name: str) -> None:
    """`module.name` dies the first time it is called, after everything before it in the step has run."""
    real = getattr(module, name)

    def dying(*args, **kwargs):
        monkeypatch.setattr(module, name, real)
        raise Crash(f"the process died in {name}")

    monkeypatch.setattr(module, name, dying)


class TestCrashMidStep:
    def test_a_funding_that_dies_after_moving_money_moves_none_and_the_retry_funds_once(self, make_any_payments,
                                                                                      monkeypatch):
        payments, milestone = make_any_payments(), Milestone(amount=10_000)
        payments.deposit(milestone.client_id, 10_500)
        request = milestone.funding_requested()
        crash_once(monkeypatch, escrow, "answer")
        assert payments.deliver(request).outcome is Outcome.RETRY
        assert payments.balance(milestone.client_id)["available"] == 10_500
        assert payments.answers(milestone) == []
        assert payments.deliver(request).outcome is Outcome.HANDLED
        assert payments.balance(milestone.client_id)["in_escrow"] == 10_000
        assert [a["type"] for a in payments.answers(milestone)] == ["payments.escrow.funded"]

    def test_a_release_that_dies_before_its_timer_is_set_releases_once_on_retry(self, make_any_payments, monkeypatch):
        payments, milestone = make_any_payments(), Milestone(amount=10_000)
        payments.fund(milestone)
        crash_once(monkeypatch, escrow, "answer")
        assert payments.deliver(milestone.approved()).outcome is Outcome.RETRY
        assert payments.account(ledger.escrow(milestone.milestone_id)) == 10_000
        assert payments.deliver(milestone.approved()).settled
        assert payments.balance(milestone.freelancer_id)["pending"] == 9_000

    @pytest.mark.parametrize("account_number, status", [("123456789", "paid"), ("000000000", "failed")])
    def test_a_payout_that_dies_after_the_bank_answered_is_sent_once(self, payments, monkeypatch, account_number,
                                                                   status):
        bank = payments.harness.runtime.collaborators["bank"]
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 4_000, {"type": "bank_account", "account_number": account_number,
                                                  "routing_number": "110000000"}).json
        (event,) = payments.emitted("payments.payout.requested")
        request = Envelope.from_json(json.dumps(event))
        crash_once(monkeypatch, ledger, "post")
        assert payments.deliver(request).outcome is Outcome.RETRY
        assert payments.get_payout(freelancer, payout["id"]).json["status"] == "pending"
        assert payments.deliver(request).settled
        assert payments.get_payout(freelancer, payout["id"]).json["status"] == status
        assert list(bank.transfers) == [payout["id"]]
        assert payments.balance(freelancer)["in_payout"] == 0
        assert payments.balance(freelancer)["available"] == (6_000 if status == "paid" else 10_000)
