"""Payouts: a freelancer's available money goes to their bank, through `in_payout`, once."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from services.payments import ledger
from services.payments.bank import Bank, BankTransfer
from services.payments.ledger import InsufficientFunds, Transfer
from services.payments.models import Payout
from services.payments.states import PAYOUT
from shared.db import utcnow
from shared.errors import Conflict, NotFound, NotReady
from shared.ids import new_id
from shared.suspensions import listed as suspended

log = logging.getLogger(__name__)


def request(uow, *, user_id: str, amount: int, destination: dict) -> Payout:
    """Set `amount` aside from the caller's available money at once; the worker sends it to the bank."""
    payout = Payout(id=new_id(), user_id=user_id, amount=amount, status="pending",
                    account_number=destination["account_number"], routing_number=destination["routing_number"],
                    created_at=utcnow())
    try:
        ledger.post(uow, f"payout:{payout.id}", "payout", payout.id, [
            Transfer(ledger.available(user_id), ledger.in_payout(user_id), amount, "payout"),
        ])
    except InsufficientFunds:
        raise Conflict("The amount is more than your available balance.") from None
    uow.session.add(payout)
    uow.emit("payments.payout.requested", {"payout_id": payout.id, "user_id": user_id, "amount": amount},
             correlation_id=payout.id)
    return payout


@dataclass(frozen=True)
class Order:
    """What the bank needs to pay a pending payout."""

    payout_id: str
    amount: int
    account_number: str
    routing_number: str


def to_send(session, payout_id: str) -> Order | None:
    """The order for the bank, if the payout is known, still pending and its payee not suspended (a short
    read, no lock taken)."""
    payout = session.get(Payout, payout_id)
    if payout is None or payout.status != "pending" or suspended(session, payout.user_id):
        return None  # unknown, settled, or held: nothing goes to the bank
    return Order(payout.id, payout.amount, payout.account_number, payout.routing_number)


def call_bank(bank: Bank, order: Order) -> BankTransfer:
    """Outside any transaction: the bank takes its time and holds no lock of ours while it does.
    Crashes: the payout id is the bank's idempotency key, so asking again after a crash never pays twice."""
    return bank.send(order.amount, order.account_number, order.routing_number, idempotency_key=order.payout_id)


def settle(uow, payout_id: str, outcome: BankTransfer | None) -> None:
    """Record the bank's answer for a pending payout; paid, the money leaves the books, failed, it goes
    back to available. `outcome` is None when the payout was not pending or not known when it was read."""
    payout = uow.session.scalar(uow.for_update(sa.select(Payout).where(Payout.id == payout_id)))
    if payout is None:
        raise NotReady(f"payout {payout_id} is not known yet")
    if payout.status != "pending":
        return
    if suspended(uow.session, payout.user_id):
        # Held: a suspended payee's payout stays pending, its money in `in_payout`, until the
        # account is reinstated (then `send_held` asks for it again).
        log.info("payout %s held: its payee %s is suspended", payout.id, payout.user_id)
        return
    if outcome is None:  # it became visible after it was read: ask the bank on the retry
        raise NotReady(f"payout {payout_id} was not known when it was read")
    data = {"payout_id": payout.id, "user_id": payout.user_id, "amount": payout.amount}
    payout.settled_at, payout.bank_reference = utcnow(), outcome.reference
    if outcome.paid:
        PAYOUT.apply(payout, "paid")
        ledger.post(uow, f"payout-paid:{payout.id}", "payout_paid", payout.id, [
            Transfer(ledger.in_payout(payout.user_id), ledger.WORLD_BANKS, payout.amount, "payout"),
        ])
        uow.emit("payments.payout.paid", data, correlation_id=payout.id)
    else:
        PAYOUT.apply(payout, "failed")
        payout.failure_reason = outcome.failure_reason
        ledger.post(uow, f"payout-return:{payout.id}", "payout_return", payout.id, [
            Transfer(ledger.in_payout(payout.user_id), ledger.available(payout.user_id), payout.amount,
                     "payout_return"),
        ])
        uow.emit("payments.payout.failed", {**data, "reason": outcome.failure_reason}, correlation_id=payout.id)


def send_held(uow, user_id: str) -> None:
    """The payee is reinstated: each payout held while they were suspended is requested again, so the
    worker sends it to the bank as it sends any payout (outside a transaction, the payout id its key)."""
    held = uow.session.scalars(sa.select(Payout).where(Payout.user_id == user_id, Payout.status == "pending")
                               .order_by(Payout.created_at, Payout.id)).all()
    for payout in held:
        uow.emit("payments.payout.requested", {"payout_id": payout.id, "user_id": user_id, "amount": payout.amount},
                 correlation_id=payout.id)


def owned(session, payout_id: str, user_id: str) -> Payout:
    payout = session.get(Payout, payout_id)
    if payout is None or payout.user_id != user_id:
        raise NotFound("No such payout.")
    return payout
