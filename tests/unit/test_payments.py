"""The books of payments: balanced postings in integer cents, the escrow answer table, fees, the payout hold."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.payments import SERVICE, deposits, escrow, ledger, payouts
from services.payments.bank import REFUSED_ACCOUNT
from services.payments.cards import DECLINED, SandboxCards
from services.payments.ledger import InsufficientFunds, Transfer
from services.payments.models import Account, Escrow, JournalEntry, Payout, Posting
from shared.db import utcnow
from shared.errors import Conflict, NotReady
from tests.unit.conftest import SETTINGS
from tests.unit.fakes import new_id

SETTING = SETTINGS["payments"]
AMOUNT, CLIENT_FEE, FREELANCER_FEE = 10_000, 500, 1_000  # at 5 % and 10 %
BANK_ACCOUNT = {"account_number": "123456789", "routing_number": "021000021"}


@pytest.fixture
def uow(make_uow):
    return make_uow(SERVICE)


class Books:
    """One milestone between a client and a freelancer, and the money around it."""

    def __init__(self, uow):
        self.uow = uow
        self.client, self.freelancer = new_id(), new_id()
        self.contract, self.milestone = new_id(), new_id()

    def balance(self, account: str) -> int:
        row = self.uow.session.get(Account, account)
        return row.balance if row is not None else 0

    def deposit(self, amount: int) -> None:
        ledger.post(self.uow, f"deposit:{new_id()}", "deposit", new_id(),
                    [Transfer(ledger.WORLD_CARDS, ledger.available(self.client), amount, "deposit")])

    def fund(self, amount: int = AMOUNT) -> None:
        escrow.fund(self.uow, contract_id=self.contract, milestone_id=self.milestone, client_id=self.client,
                    freelancer_id=self.freelancer, amount=amount, client_fee_bps=500)

    def release(self, amount: int = AMOUNT) -> None:
        escrow.release(self.uow, milestone_id=self.milestone, freelancer_fee_bps=1000,
                       freelancer_id=self.freelancer, amount=amount)

    def refund(self) -> None:
        escrow.refund(self.uow, contract_id=self.contract, milestone_id=self.milestone, client_id=self.client)

    def escrow(self) -> Escrow | None:
        return self.uow.session.get(Escrow, self.milestone)

    def balanced(self) -> bool:
        return ledger.check(self.uow.session)["balanced"]


@pytest.fixture
def books(uow) -> Books:
    return Books(uow)


class TestFees:
    @pytest.mark.parametrize("amount, bps, fee", [
        (10_000, 500, 500), (10_000, 0, 0), (999, 5, 0), (1_000, 5, 1), (1_001, 5, 1), (1, 5_000, 1),
        (3, 1_667, 1), (12_345, 1_000, 1_235),
    ])
    def test_a_fee_is_whole_cents_rounded_half_up(self, amount, bps, fee):
        assert ledger.fee(amount, bps) == fee
        assert isinstance(ledger.fee(amount, bps), int)


class TestLedger:
    def test_every_entry_balances_and_the_books_sum_to_zero(self, books):
        books.deposit(20_000)
        books.fund()

        postings = books.uow.session.execute(sa.select(Posting.entry_id, sa.func.sum(Posting.amount))
                                             .group_by(Posting.entry_id)).all()
        assert postings and all(total == 0 for _, total in postings)
        assert books.balanced()
        assert books.balance(ledger.WORLD_CARDS) == -20_000

    def test_an_entry_with_a_key_already_posted_moves_nothing(self, books):
        move = [Transfer(ledger.WORLD_CARDS, ledger.available(books.client), 1_000, "deposit")]

        assert ledger.post(books.uow, "deposit:once", "deposit", "once", move) is True
        assert ledger.post(books.uow, "deposit:once", "deposit", "once", move) is False
        assert books.balance(ledger.available(books.client)) == 1_000

    def test_no_account_but_the_outside_worlds_may_go_below_zero(self, books):
        books.deposit(100)

        with pytest.raises(InsufficientFunds):
            ledger.post(books.uow, "too-much", "payout", "x",
                        [Transfer(ledger.available(books.client), ledger.in_payout(books.client), 101, "payout")])
        assert books.balance(ledger.available(books.client)) == 100
        assert books.uow.session.scalar(sa.select(JournalEntry.id).where(JournalEntry.key == "too-much")) is None

    def test_a_transfer_of_a_negative_amount_is_refused(self, books):
        with pytest.raises(ValueError):
            ledger.post(books.uow, "negative", "deposit", "x",
                        [Transfer(ledger.WORLD_CARDS, ledger.available(books.client), -1, "deposit")])

    def test_a_zero_fee_posts_no_empty_line(self, books):
        books.deposit(AMOUNT)

        escrow.fund(books.uow, contract_id=books.contract, milestone_id=books.milestone, client_id=books.client,
                    freelancer_id=books.freelancer, amount=AMOUNT, client_fee_bps=0)

        kinds = books.uow.session.scalars(sa.select(Posting.kind).where(Posting.reference == books.milestone)).all()
        assert sorted(kinds) == ["escrow_fund", "escrow_fund"]


REQUESTS = ("funding", "approved", "refund")
# What a request meets, and the event it is answered with (None: retried later, never paid).
ANSWERS = {
    "none": ("payments.escrow.funded", None, "payments.escrow.refunded"),
    "held": ("payments.escrow.funded", "payments.escrow.released", "payments.escrow.refunded"),
    "released": ("payments.escrow.released", "payments.escrow.released", "payments.escrow.released"),
    "refunded": ("payments.escrow.funding_failed", "payments.escrow.refunded", "payments.escrow.refunded"),
}


class TestEscrowAnswers:
    @staticmethod
    def meet(books: Books, state: str) -> None:
        books.deposit(2 * (AMOUNT + CLIENT_FEE))
        if state != "none":
            books.fund()
        if state == "released":
            books.release()
        if state == "refunded":
            books.refund()
        books.uow.forget()

    @pytest.mark.parametrize("state, request_, answer", [
        pytest.param(state, request_, answer, id=f"{state}-{request_}")
        for state, answers in ANSWERS.items() for request_, answer in zip(REQUESTS, answers)
    ])
    def test_every_request_is_answered_with_what_the_money_did(self, books, state, request_, answer):
        self.meet(books, state)
        send = {"funding": books.fund, "approved": books.release, "refund": books.refund}[request_]

        if answer is None:
            with pytest.raises(NotReady):
                send()
            return
        send()

        assert books.uow.types() == [answer]
        assert books.uow.emitted[0].correlation_id == books.contract
        assert books.balanced()

    @pytest.mark.parametrize("state", ["held", "released", "refunded"])
    def test_a_repeated_request_moves_no_money_twice(self, books, state):
        self.meet(books, state)
        repeat = {"held": books.fund, "released": books.release, "refunded": books.refund}[state]
        accounts = (ledger.available(books.client), ledger.pending(books.freelancer), ledger.PLATFORM_FEES)
        before = [books.balance(account) for account in accounts]

        repeat()

        assert [books.balance(account) for account in accounts] == before
        assert books.escrow().status == state


class TestBalance:
    def test_a_users_money_by_account_and_what_they_hold_in_escrow_as_a_client(self, books):
        books.deposit(20_000)
        books.fund()

        assert ledger.balance_of(books.uow.session, books.client) == {
            "user_id": books.client, "available": 20_000 - AMOUNT - CLIENT_FEE, "pending": 0, "in_escrow": AMOUNT,
            "in_payout": 0}
        assert ledger.balance_of(books.uow.session, books.freelancer)["in_escrow"] == 0


class TestFundEscrow:
    def test_the_amount_and_the_client_fee_leave_the_clients_available_money(self, books):
        books.deposit(20_000)

        books.fund()

        assert books.balance(ledger.available(books.client)) == 20_000 - AMOUNT - CLIENT_FEE
        assert books.balance(ledger.escrow(books.milestone)) == AMOUNT
        assert books.balance(ledger.PLATFORM_FEES) == CLIENT_FEE
        assert (books.escrow().status, books.escrow().client_fee) == ("held", CLIENT_FEE)
        assert books.uow.event("payments.escrow.funded") == {
            "contract_id": books.contract, "milestone_id": books.milestone, "amount": AMOUNT, "client_fee": CLIENT_FEE}

    def test_too_little_money_fails_the_funding_and_keeps_nothing(self, books):
        books.deposit(AMOUNT)  # the fee does not fit

        books.fund()

        assert books.uow.event("payments.escrow.funding_failed")["reason"] == "insufficient_funds"
        assert books.escrow() is None
        assert books.balance(ledger.available(books.client)) == AMOUNT

    def test_a_refund_before_any_funding_closes_the_escrow_empty(self, books):
        books.refund()

        assert (books.escrow().status, books.escrow().amount, books.escrow().client_fee) == ("refunded", 0, 0)
        refunded = books.uow.event("payments.escrow.refunded")
        assert (refunded["amount"], refunded["client_fee"]) == (0, 0)


class TestReleaseAndHold:
    def test_a_release_pays_the_freelancers_pending_money_less_the_fee_and_starts_the_hold(self, books):
        books.deposit(AMOUNT + CLIENT_FEE)
        books.fund()
        before = utcnow()

        books.release()

        assert books.balance(ledger.pending(books.freelancer)) == AMOUNT - FREELANCER_FEE
        assert books.balance(ledger.available(books.freelancer)) == 0
        assert books.balance(ledger.escrow(books.milestone)) == 0
        assert books.balance(ledger.PLATFORM_FEES) == CLIENT_FEE + FREELANCER_FEE
        held = books.escrow()
        assert before + SETTING.payout_hold <= held.available_at <= utcnow() + SETTING.payout_hold
        timer = books.uow.timer(escrow.HOLD_END, books.milestone)
        assert timer.due_at == held.available_at
        assert timer.payload == {"correlation_id": books.contract}
        assert books.uow.event("payments.escrow.released")["freelancer_fee"] == FREELANCER_FEE

    def test_the_escrows_own_parties_and_amount_win_over_the_approval(self, books):
        books.deposit(AMOUNT + CLIENT_FEE)
        books.fund()

        books.release(amount=AMOUNT * 10)

        assert books.balance(ledger.pending(books.freelancer)) == AMOUNT - FREELANCER_FEE

    def test_at_the_end_of_the_hold_the_money_becomes_available_once(self, books):
        books.deposit(AMOUNT + CLIENT_FEE)
        books.fund()
        books.release()

        escrow.end_hold(books.uow, books.milestone)
        escrow.end_hold(books.uow, books.milestone)

        assert books.balance(ledger.pending(books.freelancer)) == 0
        assert books.balance(ledger.available(books.freelancer)) == AMOUNT - FREELANCER_FEE
        assert books.balanced()

    def test_a_refund_gives_back_the_amount_and_exactly_the_client_fee(self, books):
        books.deposit(20_000)
        books.fund()

        books.refund()

        assert books.balance(ledger.available(books.client)) == 20_000
        assert books.balance(ledger.PLATFORM_FEES) == 0
        assert books.escrow().status == "refunded"


class TestPayouts:
    @pytest.fixture
    def earned(self, books) -> Books:
        """The freelancer has AMOUNT - FREELANCER_FEE available."""
        books.deposit(AMOUNT + CLIENT_FEE)
        books.fund()
        books.release()
        escrow.end_hold(books.uow, books.milestone)
        books.uow.forget()
        return books

    def request(self, books: Books, amount: int, account_number: str = "123456789") -> Payout:
        return payouts.request(books.uow, user_id=books.freelancer, amount=amount,
                               destination={**BANK_ACCOUNT, "account_number": account_number})

    def test_a_payout_sets_the_money_aside_at_once(self, earned):
        payout = self.request(earned, 5_000)

        assert payout.status == "pending"
        assert earned.balance(ledger.available(earned.freelancer)) == AMOUNT - FREELANCER_FEE - 5_000
        assert earned.balance(ledger.in_payout(earned.freelancer)) == 5_000
        assert earned.uow.event("payments.payout.requested") == {
            "payout_id": payout.id, "user_id": earned.freelancer, "amount": 5_000}

    def test_a_payout_above_the_available_balance_is_refused(self, earned):
        with pytest.raises(Conflict):
            self.request(earned, AMOUNT)
        assert earned.balance(ledger.in_payout(earned.freelancer)) == 0

    def test_a_paid_payout_leaves_the_books_for_the_bank(self, earned):
        payout = self.request(earned, 5_000)
        earned.uow.session.flush()

        send(earned.uow, payout.id, earned.uow.runtime.collaborators["bank"])

        assert payout.status == "paid" and payout.bank_reference
        assert earned.balance(ledger.in_payout(earned.freelancer)) == 0
        assert earned.balance(ledger.WORLD_BANKS) == 5_000
        assert earned.uow.events("payments.payout.paid")
        assert earned.balanced()

    def test_a_refused_payout_goes_back_to_available(self, earned):
        payout = self.request(earned, 5_000, account_number=REFUSED_ACCOUNT)
        earned.uow.session.flush()

        send(earned.uow, payout.id, earned.uow.runtime.collaborators["bank"])

        assert (payout.status, payout.failure_reason) == ("failed", "account_closed")
        assert earned.balance(ledger.available(earned.freelancer)) == AMOUNT - FREELANCER_FEE
        assert earned.uow.event("payments.payout.failed")["reason"] == "account_closed"

    def test_a_settled_payout_is_never_sent_again(self, earned):
        payout = self.request(earned, 5_000)
        earned.uow.session.flush()
        bank = earned.uow.runtime.collaborators["bank"]
        send(earned.uow, payout.id, bank)
        earned.uow.forget()

        send(earned.uow, payout.id, bank)

        assert earned.uow.emitted == []
        assert len(bank.transfers) == 1

    def test_a_payout_not_known_yet_is_retried_later(self, uow):
        with pytest.raises(NotReady):
            send(uow, new_id(), uow.runtime.collaborators["bank"])


class TestDeposits:
    def test_a_successful_charge_credits_the_clients_available_money(self, books):
        cards = books.uow.runtime.collaborators["cards"]
        deposit_id = new_id()
        outcome = deposits.charge(cards, deposit_id=deposit_id, amount=2_500, card_number="4242424242424242")

        deposit = deposits.record(books.uow, deposit_id=deposit_id, user_id=books.client, amount=2_500,
                                  card_number="4242424242424242", outcome=outcome)

        assert (deposit.status, deposit.card_last4) == ("succeeded", "4242")
        assert books.balance(ledger.available(books.client)) == 2_500

    def test_a_declined_charge_is_kept_and_credits_nothing(self, books):
        cards = books.uow.runtime.collaborators["cards"]
        deposit_id = new_id()
        outcome = deposits.charge(cards, deposit_id=deposit_id, amount=2_500, card_number=DECLINED)

        deposit = deposits.record(books.uow, deposit_id=deposit_id, user_id=books.client, amount=2_500,
                                  card_number=DECLINED, outcome=outcome)

        assert (deposit.status, deposit.failure_reason) == ("failed", "card_declined")
        assert books.balance(ledger.available(books.client)) == 0

    def test_the_sandbox_answers_a_key_it_has_seen_with_its_first_charge(self):
        cards = SandboxCards()
        first = cards.charge(2_500, "4242424242424242", idempotency_key="deposit-1")

        assert cards.charge(2_500, "4242424242424242", idempotency_key="deposit-1") == first
        assert cards.charge(2_500, "4242424242424242", idempotency_key="deposit-2") != first
        assert list(cards.charges) == ["deposit-1", "deposit-2"]

    def test_a_deposit_recorded_again_under_its_id_is_credited_once(self, books):
        cards = books.uow.runtime.collaborators["cards"]
        deposit_id = new_id()
        outcome = deposits.charge(cards, deposit_id=deposit_id, amount=2_500, card_number="4242424242424242")
        first = deposits.record(books.uow, deposit_id=deposit_id, user_id=books.client, amount=2_500,
                                card_number="4242424242424242", outcome=outcome)
        books.uow.session.flush()

        again = deposits.record(books.uow, deposit_id=deposit_id, user_id=books.client, amount=2_500,
                                card_number="4242424242424242", outcome=outcome)

        assert again is first
        assert books.balance(ledger.available(books.client)) == 2_500


def send(uow, payout_id: str, bank) -> None:
    """What `payments.payout.requested` does, in one unit of work: read the order, ask the bank, settle."""
    order = payouts.to_send(uow.session, payout_id)
    payouts.settle(uow, payout_id, payouts.call_bank(bank, order) if order else None)
