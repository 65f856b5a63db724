"""Hourly invoices in the books: charged from the client's available money (short: unpaid, retried oldest
first on a deposit and on a timer), held, released less the fee, or split in one exact journal entry."""
from __future__ import annotations

import threading
from functools import partial
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services.payments import invoices, ledger
from services.payments.models import InvoiceCharge, JournalEntry, Posting
from shared.events import Envelope
from tests.payments.helpers import contracts_event, redelivered
from tests.support import new_id

WEEK = datetime(2026, 11, 30, tzinfo=timezone.utc)


@dataclass
class Bill:
    """An hourly invoice as contracts describes it in its events."""

    amount: int = 10_000
    client_id: str = field(default_factory=new_id)
    freelancer_id: str = field(default_factory=new_id)
    contract_id: str = field(default_factory=new_id)
    invoice_id: str = field(default_factory=new_id)
    period_start: datetime = WEEK

    @property
    def ids(self) -> dict:
        return {"contract_id": self.contract_id, "invoice_id": self.invoice_id, "client_id": self.client_id,
                "freelancer_id": self.freelancer_id}

    def charge_requested(self):
        return contracts_event("contracts.invoice.charge_requested", {
            **self.ids, "period_start": self.period_start, "period_end": self.period_start + timedelta(days=7),
            "billable_minutes": 120, "hourly_rate": self.amount // 2, "amount": self.amount, "client_fee_bps": 500})

    def approved(self):
        return contracts_event("contracts.invoice.approved", {**self.ids, "amount": self.amount,
                                                              "freelancer_fee_bps": 1000})

    def split_requested(self, freelancer_amount: int):
        return contracts_event("contracts.invoice.split_requested", {
            **self.ids, "amount": self.amount, "freelancer_amount": freelancer_amount,
            "refund_amount": self.amount - freelancer_amount, "client_fee_bps": 500, "freelancer_fee_bps": 1000})

    def next_week(self) -> "Bill":
        return Bill(**{**self.__dict__, "invoice_id": new_id(), "period_start": self.period_start + timedelta(days=7)})


def answers(books, bill: Bill) -> list[str]:
    return [row["type"] for row in books.emitted() if row["data"].get("invoice_id") == bill.invoice_id]


def entries(books, bill: Bill) -> list[str]:
    with books.db.transaction() as session:
        return list(session.scalars(sa.select(JournalEntry.key).where(JournalEntry.reference == bill.invoice_id)
                                    .order_by(JournalEntry.created_at, JournalEntry.key)))


def charge_status(books, bill: Bill) -> str:
    with books.db.transaction() as session:
        return session.get(InvoiceCharge, bill.invoice_id).status


def charged(books, bill: Bill) -> None:
    assert books.deposit(bill.client_id, bill.amount + ledger.fee(bill.amount, 500)).status_code == 201
    books.deliver(bill.charge_requested())
    assert charge_status(books, bill) == "held"


class TestCharge:
    def test_the_invoice_and_the_client_fee_leave_the_clients_available_money(self, make_any_payments):
        books, bill = make_any_payments(), Bill()
        books.deposit(bill.client_id, 20_000)
        books.deliver(bill.charge_requested())

        assert answers(books, bill) == ["payments.invoice.charged"]
        assert entries(books, bill) == [f"invoice-charge:{bill.invoice_id}"]
        balance = books.balance(bill.client_id)
        assert (balance["available"], balance["in_escrow"]) == (20_000 - 10_500, 10_000)
        assert books.account(f"escrow:invoice:{bill.invoice_id}") == 10_000
        escrow = books.escrow(bill.client_id, bill.contract_id).json
        assert (escrow["held_amount"], escrow["invoices"]) == (
            10_000, [{"invoice_id": bill.invoice_id, "amount": 10_000, "status": "held"}])
        kinds = {item["kind"] for item in books.transactions(bill.client_id)["items"]}
        assert {"deposit", "invoice_charge", "client_fee"} <= kinds
        assert books.escrow(new_id(), bill.contract_id).status_code == 404

    def test_a_short_balance_keeps_the_charge_unpaid_and_a_deposit_pays_the_oldest_first(self, make_any_payments):
        books = make_any_payments()
        older = Bill(amount=10_000)
        newer = older.next_week()
        books.deliver(older.charge_requested())
        books.deliver(newer.charge_requested())
        failed = [row["data"] for row in books.emitted("payments.invoice.charge_failed")]
        assert {(d["invoice_id"], d["reason"]) for d in failed} == {(older.invoice_id, "insufficient_funds"),
                                                                     (newer.invoice_id, "insufficient_funds")}
        assert entries(books, older) == []

        books.deposit(older.client_id, 12_000)  # enough for one week and its fee
        books.deliver(redelivered(_envelope(books, "payments.deposit.succeeded")))
        assert (charge_status(books, older), charge_status(books, newer)) == ("held", "unpaid")
        assert books.balance(older.client_id)["available"] == 12_000 - 10_500

    def test_an_unpaid_charge_is_tried_again_on_its_timer(self, make_any_payments):
        books, bill = make_any_payments(charge_retry_after=timedelta(milliseconds=1)), Bill()
        books.deliver(bill.charge_requested())
        # The money arrives without a deposit event (as if that one were lost): only the timer can collect.
        with books.harness.runtime.unit_of_work() as uow:
            ledger.post(uow, "gift", "deposit", new_id(), [ledger.Transfer(ledger.WORLD_CARDS,
                                                                           ledger.available(bill.client_id), 10_500,
                                                                           "deposit")])
        assert books.fire_timers() >= 1
        assert charge_status(books, bill) == "held"
        assert answers(books, bill)[-1] == "payments.invoice.charged"

    def test_the_same_request_twice_charges_once(self, make_any_payments):
        books, bill = make_any_payments(), Bill()
        charged(books, bill)
        books.deliver(redelivered(bill.charge_requested()))
        assert entries(books, bill) == [f"invoice-charge:{bill.invoice_id}"]
        assert answers(books, bill) == ["payments.invoice.charged"] * 2


class TestReleaseAndSplit:
    def test_a_release_pays_the_freelancer_less_the_fee_and_the_hold_ends_later(self, make_any_payments):
        books, bill = make_any_payments(payout_hold=timedelta(milliseconds=1)), Bill()
        charged(books, bill)
        books.deliver(bill.approved())
        books.deliver(redelivered(bill.approved()))
        assert answers(books, bill)[-2:] == ["payments.invoice.released"] * 2
        assert books.balance(bill.freelancer_id)["pending"] == 9_000
        assert books.fire_timers() >= 1
        freelancer = books.balance(bill.freelancer_id)
        assert (freelancer["pending"], freelancer["available"]) == (0, 9_000)
        assert set(entries(books, bill)) == {f"invoice-charge:{bill.invoice_id}", f"invoice-release:{bill.invoice_id}",
                                             f"invoice-hold-end:{bill.invoice_id}"}
        assert books.account(f"escrow:invoice:{bill.invoice_id}") == 0

    def test_a_split_is_one_journal_entry_exact_to_the_cent(self, make_any_payments):
        books, bill = make_any_payments(), Bill(amount=10_001)  # client fee 500.05 → 500
        charged(books, bill)
        before = books.balance(bill.client_id)["available"]
        books.deliver(bill.split_requested(3_333))
        books.deliver(redelivered(bill.split_requested(3_333)))

        split = [row["data"] for row in books.emitted("payments.invoice.split")]
        assert len(split) == 2 and split[0] == split[1]
        assert (split[0]["freelancer_amount"], split[0]["freelancer_fee"], split[0]["refund_amount"],
                split[0]["client_fee_refund"]) == (3_333, 333, 6_668, 500 - 167)
        assert entries(books, bill) == [f"invoice-charge:{bill.invoice_id}", f"invoice-split:{bill.invoice_id}"]
        with books.db.transaction() as session:
            moved = dict(session.execute(sa.select(Posting.account, sa.func.sum(Posting.amount)).join(
                JournalEntry, JournalEntry.id == Posting.entry_id).where(
                JournalEntry.key == f"invoice-split:{bill.invoice_id}").group_by(Posting.account)).all())
        assert moved == {f"escrow:invoice:{bill.invoice_id}": -10_001, f"user:{bill.freelancer_id}:pending": 3_000,
                         ledger.PLATFORM_FEES: 333 - 333, f"user:{bill.client_id}:available": 6_668 + 333}
        assert books.balance(bill.client_id)["available"] == before + 6_668 + 333
        assert charge_status(books, bill) == "split"
        assert books.check()["balanced"]

    def test_a_split_all_to_one_side_ends_released_or_refunded(self, make_any_payments):
        books = make_any_payments()
        everything, nothing = Bill(), Bill()
        for bill, share in ((everything, everything.amount), (nothing, 0)):
            charged(books, bill)
            books.deliver(bill.split_requested(share))
        assert (charge_status(books, everything), charge_status(books, nothing)) == ("released", "refunded")
        assert books.balance(nothing.client_id)["available"] == 10_500
        assert books.balance(everything.freelancer_id)["pending"] == 9_000

    def test_a_release_before_the_charge_is_never_paid(self, make_any_payments):
        books, bill = make_any_payments(), Bill()
        books.deliver(bill.charge_requested())
        result = books.deliver(bill.approved())
        assert not result.settled
        assert charge_status(books, bill) == "unpaid" and books.balance(bill.freelancer_id)["pending"] == 0


class TestRaces:
    def test_a_deposit_arriving_while_the_charge_is_retried_charges_once(self, payments_pg):
        for _ in range(3):
            bill = Bill()
            payments_pg.deliver(bill.charge_requested())
            payments_pg.deposit(bill.client_id, 10_500)
            deposited = redelivered(_envelope(payments_pg, "payments.deposit.succeeded", user_id=bill.client_id))
            at_once(partial(_collect, payments_pg, bill.client_id), partial(payments_pg.deliver, deposited))
            assert charge_status(payments_pg, bill) == "held"
            assert entries(payments_pg, bill) == [f"invoice-charge:{bill.invoice_id}"]
            assert payments_pg.balance(bill.client_id)["available"] == 0
        assert payments_pg.check()["balanced"]


def _collect(books, client_id: str) -> None:
    """The retry timer's work, as its handler does it."""
    with books.harness.runtime.unit_of_work() as uow:
        invoices.collect(uow, client_id)


def at_once(*calls) -> None:
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        call()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _envelope(books, type_: str, **match) -> Envelope:
    for row in reversed(books.emitted(type_)):
        if all(row["data"].get(k) == v for k, v in match.items()):
            return Envelope(row["type"], row["data"], row["producer"], row["correlation_id"], id=row["id"])
    raise AssertionError(f"no {type_} emitted")
