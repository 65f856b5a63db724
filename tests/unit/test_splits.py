"""The split's money rule and its one journal entry; bonuses paid once, or failed with nothing moved."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from services.payments import SERVICE, bonuses, ledger, splits
from services.payments.models import JournalEntry, Posting
from tests.unit.test_payments import AMOUNT, Books
from tests.unit.fakes import new_id


@pytest.fixture
def uow(make_uow):
    return make_uow(SERVICE)


@pytest.fixture
def books(uow) -> Books:
    made = Books(uow)
    made.deposit(20_000)
    made.fund()
    uow.forget()
    return made


def split(books: Books, refund_amount: int, amount: int = AMOUNT) -> None:
    splits.split(books.uow, milestone_id=books.milestone, freelancer_amount=amount - refund_amount,
                 refund_amount=refund_amount, freelancer_fee_bps=1000, client_fee_bps=500)


class TestTheRule:
    @hypothesis_settings(max_examples=300, deadline=None, database=None)
    @given(amount=st.integers(1, 10**12), data=st.data(), freelancer_bps=st.integers(0, 10_000),
           client_bps=st.integers(0, 10_000))
    def test_every_cent_lands_once_and_the_platform_keeps_the_fees_of_the_released_part(
            self, amount, data, freelancer_bps, client_bps):
        released = data.draw(st.integers(0, amount))
        client_fee = ledger.fee(amount, client_bps)

        part = splits.shares(amount=amount, client_fee=client_fee, released=released,
                             freelancer_fee_bps=freelancer_bps, client_fee_bps=client_bps)

        assert part.freelancer + part.client + part.platform == amount + client_fee
        assert part.platform == ledger.fee(released, freelancer_bps) + ledger.fee(released, client_bps)
        assert part.client_fee_kept + part.client_fee_refund == client_fee
        assert min(part.freelancer, part.client, part.platform, part.client_fee_refund) >= 0

    def test_half_up_rounding_on_an_odd_split(self):
        part = splits.shares(amount=10_001, client_fee=500, released=3_333, freelancer_fee_bps=1000,
                             client_fee_bps=500)
        assert (part.freelancer_fee, part.client_fee_kept, part.client_fee_refund) == (333, 167, 333)
        assert (part.freelancer, part.client) == (3_000, 6_668 + 333)


class TestSplit:
    def test_one_entry_empties_the_escrow_exactly_and_answers_split(self, books):
        before = books.balance(ledger.available(books.client))

        split(books, refund_amount=3_000)

        escrow = books.escrow()
        assert (escrow.status, escrow.freelancer_amount, escrow.refund_amount) == ("split", 7_000, 3_000)
        assert (escrow.freelancer_fee, escrow.client_fee_refund) == (700, 150)
        assert books.balance(ledger.escrow(books.milestone)) == 0
        assert books.balance(ledger.pending(books.freelancer)) == 6_300
        assert books.balance(ledger.available(books.client)) - before == 3_150
        assert books.balance(ledger.PLATFORM_FEES) == 700 + 350
        [entry] = books.uow.session.scalars(sa.select(JournalEntry).where(JournalEntry.kind == "escrow_split")).all()
        assert entry.key == f"escrow-split:{books.milestone}"
        kinds = books.uow.session.scalars(sa.select(Posting.kind).where(Posting.entry_id == entry.id,
                                                                        Posting.amount > 0)).all()
        assert sorted(kinds) == ["client_fee_refund", "escrow_refund", "escrow_release", "freelancer_fee"]
        answered = books.uow.event("payments.escrow.split")
        assert (answered["freelancer_amount"], answered["refund_amount"], answered["freelancer_fee"],
                answered["client_fee_refund"]) == (7_000, 3_000, 700, 150)
        assert books.balanced()

    def test_a_repeated_split_moves_nothing_and_gets_the_same_answer(self, books):
        split(books, refund_amount=3_000)
        split(books, refund_amount=3_000)
        assert len(books.uow.events("payments.escrow.split")) == 2
        assert books.uow.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)
                                        .where(JournalEntry.kind == "escrow_split")) == 1
        assert books.balanced()

    def test_a_split_meeting_a_released_escrow_answers_released(self, books):
        books.release()
        books.uow.forget()
        split(books, refund_amount=3_000)
        assert books.uow.types() == ["payments.escrow.released"]
        assert books.escrow().status == "released"

    def test_a_split_meeting_a_refunded_escrow_answers_refunded(self, books):
        books.refund()
        books.uow.forget()
        split(books, refund_amount=3_000)
        assert books.uow.types() == ["payments.escrow.refunded"]

    @pytest.mark.parametrize("refund_amount, status, event", [
        (0, "released", "payments.escrow.released"), (AMOUNT, "refunded", "payments.escrow.refunded")])
    def test_one_side_getting_all_is_a_release_or_a_refund(self, books, refund_amount, status, event):
        split(books, refund_amount=refund_amount)
        assert books.escrow().status == status and books.uow.types() == [event]
        assert books.balance(ledger.PLATFORM_FEES) == (1_500 if status == "released" else 0)
        assert books.balanced()

    def test_the_released_part_becomes_available_when_its_hold_ends(self, books):
        split(books, refund_amount=3_000)
        books.uow.fire("payments.escrow.end_hold", books.milestone, SERVICE.timers)
        assert books.balance(ledger.available(books.freelancer)) == 6_300
        assert books.balance(ledger.pending(books.freelancer)) == 0


class TestBonus:
    def pay(self, books: Books, bonus_id: str, amount: int = 5_000) -> None:
        bonuses.pay(books.uow, bonus_id=bonus_id, contract_id=books.contract, client_id=books.client,
                    freelancer_id=books.freelancer, amount=amount, client_fee_bps=500, freelancer_fee_bps=1000)

    def test_paid_with_the_client_fee_less_the_freelancer_fee_inside_the_hold(self, books):
        bonus_id = new_id()
        self.pay(books, bonus_id)
        self.pay(books, bonus_id)  # redelivered

        assert books.balance(ledger.available(books.client)) == 20_000 - 10_500 - 5_250
        assert books.balance(ledger.pending(books.freelancer)) == 4_500
        paid = books.uow.events("payments.bonus.paid")
        assert len(paid) == 2 and paid[0].data == paid[1].data
        assert (paid[0].data["client_fee"], paid[0].data["freelancer_fee"]) == (250, 500)
        books.uow.fire(bonuses.HOLD_END, bonus_id, SERVICE.timers)
        assert books.balance(ledger.available(books.freelancer)) == 4_500
        assert books.balanced()

    def test_without_funds_it_fails_with_nothing_moved_and_never_pays_later(self, books):
        self.pay(books, new_id(), amount=9_000)  # 9 450 with its fee, of 9 500 available: 50 are left
        books.uow.forget()
        short = new_id()
        self.pay(books, short, amount=9_000)
        assert books.uow.event("payments.bonus.failed")["reason"] == "insufficient_funds"
        books.deposit(50_000)
        self.pay(books, short, amount=9_000)
        assert len(books.uow.events("payments.bonus.failed")) == 2
        assert books.uow.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)
                                        .where(JournalEntry.key == f"bonus:{short}")) == 0
        assert books.balanced()
