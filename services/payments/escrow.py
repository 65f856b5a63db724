"""Escrow: fund, release and refund a milestone, each once, and always answer with what the money did
(a split, in splits.py, is the fourth way a held escrow ends).

What a request meets, and the answer it gets (a repeated or late request gets the same one):

| escrow   | funding_requested                       | approved                  | refund_requested       |
|----------|-----------------------------------------|---------------------------|------------------------|
| none     | fund: `funded`, or `funding_failed`     | retried (NotReady), never | closed empty:          |
|          | (insufficient_funds), nothing kept      | paid                      | `refunded` 0 + 0       |
| held     | `funded`                                | release: `released`       | refund: `refunded`     |
| released | `released`                              | `released`                | `released`             |
| refunded | `funding_failed` (cancelled)            | `refunded`                | `refunded`             |
| split    | `split`                                 | `split`                   | `split`                |
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from services.payments import invoices, ledger
from services.payments.ledger import InsufficientFunds, Transfer
from services.payments.models import ContractParties, Escrow, insert_missing
from services.payments.states import ESCROW
from shared.db import utcnow
from shared.errors import NotFound, NotReady

log = logging.getLogger(__name__)

HOLD_END = "payments.escrow.end_hold"


def fund(uow, *, contract_id: str, milestone_id: str, client_id: str, freelancer_id: str, amount: int,
         client_fee_bps: int) -> None:
    """Move the milestone's amount and the client fee out of the client's available money, once."""
    insert_missing(uow, ContractParties, [{"contract_id": contract_id, "client_id": client_id,
                                           "freelancer_id": freelancer_id, "created_at": utcnow()}])
    client_fee = ledger.fee(amount, client_fee_bps)
    # Locking: the client's account is locked before the escrow is read, so concurrent requests
    # for one milestone queue here and each later one finds the escrow the first one made.
    ledger.lock(uow, [ledger.available(client_id), ledger.escrow(milestone_id), ledger.PLATFORM_FEES])
    escrow = uow.session.get(Escrow, milestone_id, populate_existing=True)
    if escrow is not None:
        answer(uow, escrow, to="funding")
        return
    try:
        ledger.post(uow, f"escrow-fund:{milestone_id}", "escrow_fund", milestone_id, [
            Transfer(ledger.available(client_id), ledger.escrow(milestone_id), amount, "escrow_fund"),
            Transfer(ledger.available(client_id), ledger.PLATFORM_FEES, client_fee, "client_fee"),
        ])
    except InsufficientFunds:
        # Nothing was charged and no escrow is kept, so the client may deposit and fund again.
        uow.emit("payments.escrow.funding_failed", {"contract_id": contract_id, "milestone_id": milestone_id,
                                                    "reason": "insufficient_funds"}, correlation_id=contract_id)
        return
    escrow = Escrow(milestone_id=milestone_id, contract_id=contract_id, client_id=client_id,
                    freelancer_id=freelancer_id, amount=amount, client_fee=client_fee, status="held",
                    created_at=utcnow())
    uow.session.add(escrow)
    uow.session.flush()
    answer(uow, escrow, to="funding")


def release(uow, *, milestone_id: str, freelancer_fee_bps: int, freelancer_id: str, amount: int) -> None:
    """Pay a held escrow to the freelancer's pending money less the fee, and start the payout hold."""
    escrow = uow.session.get(Escrow, milestone_id)
    if escrow is None:
        # Ordering: payments funds before contracts can approve, so this is early or wrong; never pay it.
        raise NotReady(f"milestone {milestone_id} was approved but its escrow is unknown here")
    if escrow.freelancer_id != freelancer_id or escrow.amount != amount:
        log.warning("approval of milestone %s disagrees with its escrow; the escrow's parties and amount win",
                    milestone_id)
    freelancer_fee = ledger.fee(escrow.amount, freelancer_fee_bps)
    available_at = utcnow() + uow.settings.payout_hold
    if settle(uow, escrow, "released", freelancer_fee=freelancer_fee, available_at=available_at,
              freelancer_amount=escrow.amount):
        ledger.post(uow, f"escrow-release:{milestone_id}", "escrow_release", milestone_id, [
            Transfer(ledger.escrow(milestone_id), ledger.pending(escrow.freelancer_id),
                     escrow.amount - freelancer_fee, "escrow_release"),
            Transfer(ledger.escrow(milestone_id), ledger.PLATFORM_FEES, freelancer_fee, "freelancer_fee"),
        ])
        uow.schedule(HOLD_END, milestone_id, available_at, {"correlation_id": escrow.contract_id}, new=True)
    answer(uow, escrow, to="approval")


def refund(uow, *, contract_id: str, milestone_id: str, client_id: str) -> None:
    """Give a held escrow and exactly the client fee taken for it back to the client's available money."""
    escrow = uow.session.get(Escrow, milestone_id)
    if escrow is None:
        # A refund for a milestone never funded here closes its escrow empty (refunded 0 + 0), so
        # contracts can settle and a funding request arriving later fails as cancelled, never charges.
        escrow = Escrow(milestone_id=milestone_id, contract_id=contract_id, client_id=client_id, amount=0,
                        client_fee=0, status="refunded", created_at=utcnow(), settled_at=utcnow())
        uow.session.add(escrow)
        uow.session.flush()
    elif settle(uow, escrow, "refunded", refund_amount=escrow.amount, client_fee_refund=escrow.client_fee):
        ledger.post(uow, f"escrow-refund:{milestone_id}", "escrow_refund", milestone_id, [
            Transfer(ledger.escrow(milestone_id), ledger.available(escrow.client_id), escrow.amount, "escrow_refund"),
            Transfer(ledger.PLATFORM_FEES, ledger.available(escrow.client_id), escrow.client_fee, "client_fee_refund"),
        ])
    answer(uow, escrow, to="refund")


def end_hold(uow, milestone_id: str) -> None:
    """The payout hold of a release (or of a split's released part) is over: the freelancer's money
    becomes available."""
    escrow = uow.session.get(Escrow, milestone_id)
    if escrow is None or escrow.status not in ("released", "split"):
        return
    gross = escrow.freelancer_amount if escrow.status == "split" else escrow.amount
    net = gross - (escrow.freelancer_fee or 0)
    ledger.post(uow, f"hold-end:{milestone_id}", "hold_end", milestone_id, [
        Transfer(ledger.pending(escrow.freelancer_id), ledger.available(escrow.freelancer_id), net, "hold_end"),
    ])


def settle(uow, escrow: Escrow, target: str, **changes) -> bool:
    """Move a held escrow to `target` with a conditional update; False when another step got there first."""
    ESCROW.check("held", target)
    return uow.db.update_if(uow.session, escrow, Escrow.status == "held", status=target, settled_at=utcnow(), **changes)


def answer(uow, escrow: Escrow, *, to: str) -> None:
    """Emit the event that says what this milestone's money really did."""
    ids = {"contract_id": escrow.contract_id, "milestone_id": escrow.milestone_id}
    if escrow.status == "held":
        uow.emit("payments.escrow.funded", {**ids, "amount": escrow.amount, "client_fee": escrow.client_fee},
                 correlation_id=escrow.contract_id)
    elif escrow.status == "released":
        uow.emit("payments.escrow.released", {
            **ids, "freelancer_id": escrow.freelancer_id, "amount": escrow.amount,
            "freelancer_fee": escrow.freelancer_fee, "available_at": escrow.available_at,
        }, correlation_id=escrow.contract_id)
    elif escrow.status == "split":
        uow.emit("payments.escrow.split", {
            **ids, "freelancer_amount": escrow.freelancer_amount, "refund_amount": escrow.refund_amount,
            "freelancer_fee": escrow.freelancer_fee or 0, "client_fee_refund": escrow.client_fee_refund,
            "available_at": escrow.available_at,
        }, correlation_id=escrow.contract_id)
    elif to == "funding":
        # A refunded escrow is closed for good: a funding request now is refused, the refund already answered.
        uow.emit("payments.escrow.funding_failed", {**ids, "reason": "cancelled"}, correlation_id=escrow.contract_id)
    else:
        uow.emit("payments.escrow.refunded", {**ids, "client_id": escrow.client_id, "amount": escrow.amount,
                                              "client_fee": escrow.client_fee}, correlation_id=escrow.contract_id)


def of_contract(session, contract_id: str, user_id: str) -> dict:
    """A contract's escrow as its parties see it; a stranger (or an unknown contract) is told it does not exist."""
    parties = session.get(ContractParties, contract_id)
    if parties is None or user_id not in (parties.client_id, parties.freelancer_id):
        raise NotFound("No such contract escrow.")
    rows = session.scalars(sa.select(Escrow).where(Escrow.contract_id == contract_id)
                           .order_by(Escrow.created_at, Escrow.milestone_id))
    milestones = [{"milestone_id": row.milestone_id, "amount": row.amount, "status": row.status,
                   "client_fee": row.client_fee, "freelancer_fee": row.freelancer_fee or 0,
                   "freelancer_amount": row.freelancer_amount or 0, "refund_amount": row.refund_amount or 0,
                   "client_fee_refund": row.client_fee_refund or 0} for row in rows]
    bills = invoices.of_contract(session, contract_id)
    return {"contract_id": contract_id, "milestones": milestones, "invoices": bills,
            "held_amount": sum(item["amount"] for item in milestones + bills if item["status"] == "held")}
