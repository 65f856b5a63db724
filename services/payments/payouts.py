"""Payouts: a freelancer's available money goes to their bank, through `in_payout`, once."""
from __future__ import annotations

import logging

import sqlalchemy as sa

from services.payments import ledger
from services.payments.bank import Bank
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


def send(uow, payout_id: str, bank: Bank) -> None:
    """Send a pending payout to the bank; paid, the money leaves the books, failed, it goes back to available."""
    payout = uow.session.scalar(uow.for_update(sa.select(Payout).where(Payout.id == payout_id)))
    if payout is None:
        raise NotReady(f"payout {payout_id} is not known yet")
    if payout.status != "pending":
        return
    if suspended(uow.session, payout.user_id):
        # Held: a suspended payee's payout stays pending, its money in `in_payout`, until the
        # account is reinstated (then `send_held` sends it).
        log.info("payout %s held: its payee %s is suspended", payout.id, payout.user_id)
        return
    # Crashes: the payout id is the bank's idempotency key, so sending again after a crash never pays twice.
    outcome = bank.send(payout.amount, payout.account_number, payout.routing_number, idempotency_key=payout.id)
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


def send_held(uow, user_id: str, bank: Bank) -> None:
    """The payee is reinstated: the payouts held while they were suspended go to the bank now."""
    held = uow.session.scalars(sa.select(Payout.id).where(Payout.user_id == user_id, Payout.status == "pending")
                               .order_by(Payout.created_at, Payout.id)).all()
    for payout_id in held:
        send(uow, payout_id, bank)


def owned(session, payout_id: str, user_id: str) -> Payout:
    payout = session.get(Payout, payout_id)
    if payout is None or payout.user_id != user_id:
        raise NotFound("No such payout.")
    return payout
