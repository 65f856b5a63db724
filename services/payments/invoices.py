"""Hourly invoices: charge the client once (retried while short), hold it through the review window,
then release it to the freelancer or split it as an admin decided; always answer with what the money did.

| charge   | charge_requested              | approved               | split_requested          |
|----------|-------------------------------|------------------------|--------------------------|
| none     | charge: `charged`, or unpaid  | retried (NotReady)     | retried (NotReady)       |
| unpaid   | tried again (oldest first)    | retried (NotReady)     | retried (NotReady)       |
| held     | `charged`                     | release: `released`    | split: `split`           |
| settled  | what settled it               | what settled it        | what settled it          |

An unpaid charge is tried again, the client's oldest first, on each of their deposits
(`payments.deposit.succeeded`) and CHARGE_RETRY_AFTER after each failure.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.payments import ledger
from services.payments.ledger import InsufficientFunds, Transfer
from services.payments.models import ContractParties, InvoiceCharge, insert_missing
from services.payments.states import INVOICE_CHARGE
from shared.db import utcnow
from shared.errors import NotReady

RETRY_CHARGE = "payments.invoice.retry_charge"
HOLD_END = "payments.invoice.end_hold"


def split_shares(amount: int, client_fee: int, freelancer_amount: int, client_fee_bps: int,
                 freelancer_fee_bps: int) -> dict:
    """The exact cents of a split: the freelancer's share less its fee (fee(f), half up), the rest of the
    amount back to the client with the client fee on it (client fee − fee(f, client bps))."""
    freelancer_fee = ledger.fee(freelancer_amount, freelancer_fee_bps)
    return {"freelancer_net": freelancer_amount - freelancer_fee, "freelancer_fee": freelancer_fee,
            "refund_amount": amount - freelancer_amount,
            "client_fee_refund": client_fee - ledger.fee(freelancer_amount, client_fee_bps)}


def request_charge(uow, *, contract_id: str, invoice_id: str, client_id: str, freelancer_id: str,
                   period_start: datetime, amount: int, client_fee_bps: int) -> None:
    """Keep the invoice's charge (unpaid until the money moves), then collect the client's unpaid ones."""
    now = utcnow()
    insert_missing(uow, ContractParties, [{"contract_id": contract_id, "client_id": client_id,
                                           "freelancer_id": freelancer_id, "created_at": now}])
    insert_missing(uow, InvoiceCharge, [{
        "invoice_id": invoice_id, "contract_id": contract_id, "client_id": client_id,
        "freelancer_id": freelancer_id, "period_start": period_start, "amount": amount,
        "client_fee": ledger.fee(amount, client_fee_bps), "client_fee_bps": client_fee_bps, "status": "unpaid",
        "created_at": now}])
    charge = uow.session.get(InvoiceCharge, invoice_id, populate_existing=True)
    if charge.status == "unpaid":
        collect(uow, client_id)
    else:
        answer(uow, charge)


def collect(uow, client_id: str) -> None:
    """Try the client's unpaid charges, oldest first, until one finds the balance short."""
    # Locking: the client's available account first; a deposit and a retry queue on it.
    ledger.lock(uow, [ledger.available(client_id), ledger.PLATFORM_FEES])
    unpaid = uow.session.scalars(sa.select(InvoiceCharge).where(
        InvoiceCharge.client_id == client_id, InvoiceCharge.status == "unpaid")
        .order_by(InvoiceCharge.period_start, InvoiceCharge.created_at, InvoiceCharge.invoice_id)
        .execution_options(populate_existing=True)).all()
    for charge in unpaid:
        if not _charge(uow, charge):
            for later in unpaid[unpaid.index(charge) + 1:]:
                _fail(uow, later)
            return


def _charge(uow, charge: InvoiceCharge) -> bool:
    try:
        ledger.post(uow, f"invoice-charge:{charge.invoice_id}", "invoice_charge", charge.invoice_id, [
            Transfer(ledger.available(charge.client_id), ledger.invoice_escrow(charge.invoice_id), charge.amount, "invoice_charge"),
            Transfer(ledger.available(charge.client_id), ledger.PLATFORM_FEES, charge.client_fee, "client_fee"),
        ])
    except InsufficientFunds:
        _fail(uow, charge)
        return False
    _move(uow, charge, "unpaid", "held", charged_at=utcnow(), last_error=None, retry_at=None)
    uow.cancel_timer(RETRY_CHARGE, charge.invoice_id)
    answer(uow, charge)
    return True


def _fail(uow, charge: InvoiceCharge) -> None:
    """Nothing moved: the charge stays unpaid and is tried again CHARGE_RETRY_AFTER later."""
    charge.last_error = "insufficient_funds"
    charge.retry_at = utcnow() + uow.settings.charge_retry_after
    uow.schedule(RETRY_CHARGE, charge.invoice_id, charge.retry_at,
                 {"client_id": charge.client_id, "correlation_id": charge.contract_id})
    answer(uow, charge)


def release(uow, *, invoice_id: str, freelancer_fee_bps: int) -> None:
    """The review window is over: the held amount goes to the freelancer's pending money less the fee."""
    charge = _held_or_settled(uow, invoice_id)
    fee = ledger.fee(charge.amount, freelancer_fee_bps)
    available_at = utcnow() + uow.settings.payout_hold
    if _move(uow, charge, "held", "released", freelancer_amount=charge.amount, refund_amount=0,
             freelancer_fee=fee, available_at=available_at, settled_at=utcnow()):
        ledger.post(uow, f"invoice-release:{invoice_id}", "invoice_release", invoice_id, [
            Transfer(ledger.invoice_escrow(invoice_id), ledger.pending(charge.freelancer_id), charge.amount - fee, "invoice_release"),
            Transfer(ledger.invoice_escrow(invoice_id), ledger.PLATFORM_FEES, fee, "freelancer_fee"),
        ])
        uow.schedule(HOLD_END, invoice_id, available_at, {"correlation_id": charge.contract_id}, new=True)
    answer(uow, charge)


def split(uow, *, invoice_id: str, freelancer_amount: int, client_fee_bps: int, freelancer_fee_bps: int) -> None:
    """An admin's resolution: both shares and the fees' difference move in ONE journal entry."""
    charge = _held_or_settled(uow, invoice_id)
    if not 0 <= freelancer_amount <= charge.amount:
        raise ValueError(f"invoice {invoice_id}: a split of {freelancer_amount} out of {charge.amount}")
    shares = split_shares(charge.amount, charge.client_fee, freelancer_amount, client_fee_bps, freelancer_fee_bps)
    target = ("released" if shares["refund_amount"] == 0 else "refunded" if freelancer_amount == 0 else "split")
    available_at = utcnow() + uow.settings.payout_hold if shares["freelancer_net"] else None
    if _move(uow, charge, "held", target, freelancer_amount=freelancer_amount, refund_amount=shares["refund_amount"],
             freelancer_fee=shares["freelancer_fee"], client_fee_refund=shares["client_fee_refund"],
             available_at=available_at, settled_at=utcnow()):
        client = ledger.available(charge.client_id)
        ledger.post(uow, f"invoice-split:{invoice_id}", "invoice_split", invoice_id, [
            Transfer(ledger.invoice_escrow(invoice_id), ledger.pending(charge.freelancer_id), shares["freelancer_net"],
                     "invoice_release"),
            Transfer(ledger.invoice_escrow(invoice_id), ledger.PLATFORM_FEES, shares["freelancer_fee"], "freelancer_fee"),
            Transfer(ledger.invoice_escrow(invoice_id), client, shares["refund_amount"], "invoice_refund"),
            Transfer(ledger.PLATFORM_FEES, client, shares["client_fee_refund"], "client_fee_refund"),
        ])
        if available_at is not None:
            uow.schedule(HOLD_END, invoice_id, available_at, {"correlation_id": charge.contract_id}, new=True)
    answer(uow, charge)


def end_hold(uow, invoice_id: str) -> None:
    """The payout hold of a release or split is over: the freelancer's share becomes available."""
    charge = uow.session.get(InvoiceCharge, invoice_id)
    if charge is None or charge.status not in ("released", "split"):
        return
    net = (charge.freelancer_amount or 0) - (charge.freelancer_fee or 0)
    ledger.post(uow, f"invoice-hold-end:{invoice_id}", "hold_end", invoice_id, [
        Transfer(ledger.pending(charge.freelancer_id), ledger.available(charge.freelancer_id), net, "hold_end"),
    ])


def _held_or_settled(uow, invoice_id: str) -> InvoiceCharge:
    charge = uow.session.get(InvoiceCharge, invoice_id)
    if charge is None or charge.status == "unpaid":
        # Ordering: contracts asks to pay out only after the charge; this is early or wrong, never pay it.
        raise NotReady(f"invoice {invoice_id} has no money held here yet")
    ledger.lock(uow, [ledger.invoice_escrow(invoice_id)])
    uow.session.refresh(charge)
    return charge


def _move(uow, charge: InvoiceCharge, source: str, target: str, **changes) -> bool:
    """A conditional update `source` → `target`; False when another step got there first."""
    INVOICE_CHARGE.check(source, target)
    return uow.db.update_if(uow.session, charge, InvoiceCharge.status == source, status=target, **changes)


def answer(uow, charge: InvoiceCharge) -> None:
    """Emit the event that says what this invoice's money really did."""
    ids = {"contract_id": charge.contract_id, "invoice_id": charge.invoice_id}
    if charge.status == "unpaid":
        uow.emit("payments.invoice.charge_failed", {
            **ids, "client_id": charge.client_id, "amount": charge.amount, "client_fee": charge.client_fee,
            "reason": charge.last_error or "insufficient_funds", "retry_at": charge.retry_at},
            correlation_id=charge.contract_id)
    elif charge.status == "held":
        uow.emit("payments.invoice.charged", {**ids, "amount": charge.amount, "client_fee": charge.client_fee,
                                              "charged_at": charge.charged_at}, correlation_id=charge.contract_id)
    elif charge.client_fee_refund is not None:
        uow.emit("payments.invoice.split", {
            **ids, "freelancer_amount": charge.freelancer_amount, "freelancer_fee": charge.freelancer_fee,
            "refund_amount": charge.refund_amount, "client_fee_refund": charge.client_fee_refund,
            "available_at": charge.available_at}, correlation_id=charge.contract_id)
    else:
        uow.emit("payments.invoice.released", {
            **ids, "freelancer_id": charge.freelancer_id, "amount": charge.amount,
            "freelancer_fee": charge.freelancer_fee, "available_at": charge.available_at},
            correlation_id=charge.contract_id)


def of_contract(session, contract_id: str) -> list[dict]:
    rows = session.scalars(sa.select(InvoiceCharge).where(InvoiceCharge.contract_id == contract_id)
                           .order_by(InvoiceCharge.period_start, InvoiceCharge.invoice_id))
    return [{"invoice_id": row.invoice_id, "amount": row.amount, "status": row.status} for row in rows]
