"""The billing saga of hourly contracts: per period an invoice made at the edit deadline, charged, held
through the review window, then released, or disputed and split by an admin.

Every step runs under the contract's row lock (`sagas.locked_contract`) and decides by the clock.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.contracts import sagas
from services.contracts.hourly import CLOSE_TIMESHEET, billed, entries_of, pause, require_hourly, resume, starting
from services.contracts.hourly_models import Invoice
from services.contracts.models import Contract
from services.contracts.states import INVOICE
from services.contracts.timesheets import amount_for, fee
from shared.db import utcnow
from shared.errors import Conflict, NotFound, NotReady, Unprocessable
from shared.ids import new_id

END_REVIEW = "contracts.invoice.end_review"
RESEND_REQUEST = "contracts.invoice.resend_request"
# What an invoice waiting for payments asked, and so what is sent again past its deadline.
REQUESTS = {"pending_payment": "contracts.invoice.charge_requested", "releasing": "contracts.invoice.approved",
            "resolving": "contracts.invoice.split_requested"}


# The billing saga

def close_timesheet(uow, contract: Contract, start: datetime) -> Invoice | None:
    """Billing 1: at edit_until the period's entries are final; they are invoiced and the charge asked for.
    A period with no entries left gets no invoice; a repeat finds the invoice made."""
    span = starting(uow, start)
    if utcnow() < span.edit_until:
        return None  # early (a clock behind the timer's): its timer fires again
    made = uow.session.scalar(sa.select(Invoice).where(Invoice.contract_id == contract.id,
                                                       Invoice.period_start == start))
    entries = entries_of(uow.session, contract.id, start)
    if made is not None or not entries:
        sagas.settle(uow, contract)
        return made
    minutes = sum(billed(contract, entries, start).values())
    amount = amount_for(minutes, contract.hourly_rate or 0)
    invoice = Invoice(id=new_id(), contract_id=contract.id, period_start=span.start, period_end=span.end,
                      total_minutes=sum(e.minutes for e in entries), billable_minutes=minutes,
                      hourly_rate=contract.hourly_rate, amount=amount,
                      client_fee=fee(amount, contract.client_fee_bps), currency=contract.currency,
                      status="pending_payment", created_at=utcnow())
    uow.session.add(invoice)
    uow.session.flush()
    contract.invoiced_amount = (contract.invoiced_amount or 0) + amount
    _request(uow, contract, invoice)
    return invoice


def record_charge(uow, contract: Contract, invoice: Invoice, charged_at: datetime) -> None:
    """Billing 2: the client paid; the review window opens, and a contract paused for payment resumes
    once none of its invoices is unpaid."""
    if invoice.status not in ("pending_payment", "payment_failed"):
        return  # stale or repeated
    INVOICE.apply(invoice, "in_review")
    uow.cancel_timer(RESEND_REQUEST, invoice.id)
    invoice.charged_at, invoice.last_error = charged_at, None
    invoice.review_ends_at = charged_at + uow.settings.invoice_review_window
    uow.schedule(END_REVIEW, invoice.id, invoice.review_ends_at,
                 sagas._timer_payload(contract, invoice_id=invoice.id))
    if not _any_unpaid(uow, contract):
        resume(uow, contract, "payment_failed")


def record_charge_failure(uow, contract: Contract, invoice: Invoice, reason: str) -> None:
    """Billing 2, the compensation: nothing moved; the contract is paused until payments collects it."""
    if invoice.status == "payment_failed":
        invoice.last_error = reason
        return
    if invoice.status != "pending_payment":
        return  # stale or repeated
    INVOICE.apply(invoice, "payment_failed")
    uow.cancel_timer(RESEND_REQUEST, invoice.id)  # payments keeps the charge and retries it itself
    invoice.last_error = reason
    if contract.status in ("active", "paused"):
        pause(uow, contract, "payment_failed")


def _any_unpaid(uow, contract: Contract) -> bool:
    return bool(uow.session.scalar(sa.select(sa.exists().where(
        Invoice.contract_id == contract.id, Invoice.status == "payment_failed"))))


def end_review(uow, contract: Contract, invoice: Invoice) -> None:
    """Billing 3: the review window is over and nobody disputed: payments releases the money."""
    if invoice.status != "in_review" or invoice.review_ends_at is None or invoice.review_ends_at > utcnow():
        return
    INVOICE.apply(invoice, "releasing")
    _request(uow, contract, invoice)


def record_release(uow, contract: Contract, invoice: Invoice, data: dict) -> None:
    """Billing 3: the freelancer was paid (pending until the payout hold ends)."""
    if invoice.status != "releasing":
        return  # stale or repeated
    INVOICE.apply(invoice, "released")
    uow.cancel_timer(RESEND_REQUEST, invoice.id)
    invoice.released_at = utcnow()
    invoice.freelancer_amount, invoice.refund_amount = invoice.amount, 0
    invoice.freelancer_fee, invoice.available_at = data["freelancer_fee"], data["available_at"]
    contract.released_amount += invoice.amount
    sagas.settle(uow, contract)


def dispute(uow, contract: Contract, invoice: Invoice, reason: str) -> None:
    """Billing 4: the client disputes the hours inside the review window; the money stays held."""
    # Race: the review timer decides under this same lock, so the clock picks one of the two.
    if invoice.status != "in_review" or invoice.review_ends_at is None or invoice.review_ends_at <= utcnow():
        raise Conflict(f"The invoice is {invoice.status}; it is disputable only in review, before review_ends_at.")
    INVOICE.apply(invoice, "disputed")
    invoice.disputed_at, invoice.dispute_reason = utcnow(), reason
    uow.cancel_timer(END_REVIEW, invoice.id)


def resolve(uow, contract: Contract, invoice: Invoice, *, freelancer_amount: int, refund_amount: int,
            note: str | None) -> None:
    """Billing 4: an admin splits a disputed invoice; payments moves both shares in one journal entry."""
    if freelancer_amount + refund_amount != invoice.amount:
        raise Unprocessable("Invalid fields: freelancer_amount, refund_amount", {
            "refund_amount": [f"freelancer_amount and refund_amount must sum to the invoice's {invoice.amount}."]})
    INVOICE.apply(invoice, "resolving")
    invoice.freelancer_amount, invoice.refund_amount, invoice.resolution_note = freelancer_amount, refund_amount, note
    _request(uow, contract, invoice)


def record_split(uow, contract: Contract, invoice: Invoice, data: dict) -> None:
    """Billing 4: both shares moved; the invoice is resolved."""
    if invoice.status != "resolving":
        return  # stale or repeated
    INVOICE.apply(invoice, "resolved")
    uow.cancel_timer(RESEND_REQUEST, invoice.id)
    invoice.resolved_at = utcnow()
    invoice.freelancer_amount, invoice.refund_amount = data["freelancer_amount"], data["refund_amount"]
    invoice.freelancer_fee, invoice.available_at = data["freelancer_fee"], data["available_at"]
    contract.released_amount += data["freelancer_amount"]
    sagas.settle(uow, contract)


# Deadlines: an invoice waiting for payments (pending_payment, releasing, resolving) has one, as a
# milestone does (sagas.py): past it the request is sent again, each wait twice the last up to
# SAGA_RESEND_MAX; payments answers a repeat with what the money really did.

def _request(uow, contract: Contract, invoice: Invoice, resends: int = 0) -> None:
    """Send the invoice's current request to payments and arm its deadline."""
    ids = {"contract_id": contract.id, "invoice_id": invoice.id, "client_id": contract.client_id,
           "freelancer_id": contract.freelancer_id, "amount": invoice.amount}
    if invoice.status == "pending_payment":
        data = {**ids, "period_start": invoice.period_start, "period_end": invoice.period_end,
                "billable_minutes": invoice.billable_minutes, "hourly_rate": invoice.hourly_rate,
                "client_fee_bps": contract.client_fee_bps}
    elif invoice.status == "releasing":
        data = {**ids, "freelancer_fee_bps": contract.freelancer_fee_bps}
    else:
        data = {**ids, "freelancer_amount": invoice.freelancer_amount, "refund_amount": invoice.refund_amount,
                "client_fee_bps": contract.client_fee_bps, "freelancer_fee_bps": contract.freelancer_fee_bps}
    sagas._emit(uow, contract, REQUESTS[invoice.status], data)
    if resends == 0:
        invoice.requested_at = utcnow()
    invoice.resends = resends
    uow.schedule(RESEND_REQUEST, invoice.id, utcnow() + sagas.resend_delay(uow.settings, resends),
                 sagas._timer_payload(contract, status=invoice.status, resends=resends))


def resend_request(uow, contract: Contract, invoice: Invoice, resends: int) -> None:
    """Past its deadline and still unanswered: the invoice's request goes to payments again."""
    if invoice.status in REQUESTS:
        _request(uow, contract, invoice, resends + 1)


def invoice_of(uow, contract: Contract, invoice_id: str) -> Invoice:
    require_hourly(contract)
    found = uow.session.get(Invoice, invoice_id, populate_existing=True)
    if found is None or found.contract_id != contract.id:
        raise NotFound("No such invoice in this contract.")
    return found


def invoices(contract: Contract) -> sa.Select:
    """A contract's invoices, one a period, each made at its period's close (the API pages them newest first)."""
    return sa.select(Invoice).where(Invoice.contract_id == contract.id)


# What the saga reacts to

def _invoiced(uow, data: dict) -> tuple[Contract, Invoice]:
    contract = sagas._contract(uow, data["contract_id"])
    invoice = uow.session.get(Invoice, data["invoice_id"], populate_existing=True)
    if invoice is None or invoice.contract_id != contract.id:
        raise NotReady(f"invoice {data['invoice_id']} of contract {contract.id} does not exist yet")
    return contract, invoice


def invoice_charged(event, uow) -> None:
    """The client paid the invoice into its escrow: the review window opens."""
    record_charge(uow, *_invoiced(uow, event.data), event.data["charged_at"])


def invoice_charge_failed(event, uow) -> None:
    """The client's balance was short: the contract is paused until payments collects it."""
    record_charge_failure(uow, *_invoiced(uow, event.data), event.data["reason"])


def invoice_released(event, uow) -> None:
    """The invoice's money reached the freelancer's pending balance."""
    record_release(uow, *_invoiced(uow, event.data), event.data)


def invoice_split(event, uow) -> None:
    """A disputed invoice's money went to both sides as the admin decided."""
    record_split(uow, *_invoiced(uow, event.data), event.data)


def timesheet_due(timer, uow) -> None:
    contract = sagas.locked_contract(uow, timer.payload["contract_id"])
    if contract is not None:
        close_timesheet(uow, contract, datetime.fromisoformat(timer.payload["period_start"]))


def review_due(timer, uow) -> None:
    contract = sagas.locked_contract(uow, timer.payload["contract_id"])
    if contract is not None and (invoice := uow.session.get(Invoice, timer.key, populate_existing=True)):
        end_review(uow, contract, invoice)


def request_due(timer, uow) -> None:
    contract = sagas.locked_contract(uow, timer.payload["contract_id"])
    if contract is not None and (invoice := uow.session.get(Invoice, timer.key, populate_existing=True)):
        resend_request(uow, contract, invoice, int(timer.payload.get("resends", 0)))


# The saga map (Billing)
#   1. close-timesheet timer at edit_until   close_timesheet: Invoice pending_payment, charge_requested
#   2. payments.invoice.charged              record_charge: in_review, review timer; resume once all paid
#      payments.invoice.charge_failed        record_charge_failure: payment_failed, contract paused
#   3. review timer at review_ends_at        end_review: releasing, approved
#      payments.invoice.released             record_release: released
#   4. client disputes / admin resolves      dispute: disputed; resolve: resolving, split_requested
#      payments.invoice.split                record_split: resolved
BILLING = {
    "payments.invoice.charged": invoice_charged,
    "payments.invoice.charge_failed": invoice_charge_failed,
    "payments.invoice.released": invoice_released,
    "payments.invoice.split": invoice_split,
}

TIMERS = {
    CLOSE_TIMESHEET: timesheet_due,  # Billing 1
    END_REVIEW: review_due,  # Billing 3
    RESEND_REQUEST: request_due,  # every invoice waiting for payments, past its deadline
}
