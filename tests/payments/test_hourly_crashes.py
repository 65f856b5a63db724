"""A worker dying around an invoice's charge and its release: the half-done step leaves nothing behind and
its redelivery moves the money exactly once."""
from __future__ import annotations

import pytest

from services.payments import invoices, ledger
from shared.consumer import Outcome
from tests.payments.test_crashes import Crash, crash_once
from tests.payments.test_hourly_invoices import Bill, answers, charge_status, charged, entries


class TestCrashAroundTheCharge:
    def test_a_charge_that_dies_after_moving_money_moves_none_and_the_retry_charges_once(self, make_any_payments,
                                                                                       monkeypatch):
        books, bill = make_any_payments(), Bill()
        books.deposit(bill.client_id, 10_500)
        request = bill.charge_requested()
        crash_once(monkeypatch, invoices, "answer")
        assert books.deliver(request).outcome is Outcome.RETRY
        assert books.balance(bill.client_id)["available"] == 10_500
        assert (entries(books, bill), answers(books, bill)) == ([], [])

        assert books.deliver(request).outcome is Outcome.HANDLED
        assert charge_status(books, bill) == "held"
        assert entries(books, bill) == [f"invoice-charge:{bill.invoice_id}"]
        assert answers(books, bill) == ["payments.invoice.charged"]

    def test_a_retry_by_deposit_that_dies_leaves_the_charge_unpaid_for_the_next_try(self, make_any_payments,
                                                                                 monkeypatch):
        books, bill = make_any_payments(), Bill()
        books.deliver(bill.charge_requested())
        books.deposit(bill.client_id, 10_500)
        crash_once(monkeypatch, invoices, "answer")
        runtime = books.harness.runtime
        with pytest.raises(Crash), runtime.unit_of_work() as uow:
            invoices.collect(uow, bill.client_id)
        assert charge_status(books, bill) == "unpaid" and entries(books, bill) == []
        with runtime.unit_of_work() as uow:
            invoices.collect(uow, bill.client_id)
        assert charge_status(books, bill) == "held" and books.balance(bill.client_id)["available"] == 0


class TestCrashAroundTheRelease:
    def test_a_release_that_dies_before_its_timer_is_set_releases_once_on_retry(self, make_any_payments, monkeypatch):
        books, bill = make_any_payments(), Bill()
        charged(books, bill)
        crash_once(monkeypatch, invoices, "answer")
        assert books.deliver(bill.approved()).outcome is Outcome.RETRY
        assert books.account(ledger.invoice_escrow(bill.invoice_id)) == 10_000
        assert charge_status(books, bill) == "held"
        assert books.deliver(bill.approved()).settled
        assert books.balance(bill.freelancer_id)["pending"] == 9_000
        assert entries(books, bill) == [f"invoice-charge:{bill.invoice_id}", f"invoice-release:{bill.invoice_id}"]

    def test_a_split_that_dies_half_way_splits_once_on_retry(self, make_any_payments, monkeypatch):
        books, bill = make_any_payments(), Bill()
        charged(books, bill)
        crash_once(monkeypatch, invoices, "answer")
        assert books.deliver(bill.split_requested(4_000)).outcome is Outcome.RETRY
        assert books.account(ledger.invoice_escrow(bill.invoice_id)) == 10_000
        assert books.deliver(bill.split_requested(4_000)).settled
        assert charge_status(books, bill) == "split"
        assert books.balance(bill.freelancer_id)["pending"] == 3_600
        assert books.check()["balanced"]
