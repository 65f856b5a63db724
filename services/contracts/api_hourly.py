"""The hourly part of the contracts API: weekly limits, pauses, time entries, timesheets and invoices."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.contracts import billing, hourly
from services.contracts.api import _as_party, _visible
from services.contracts.hourly_models import Invoice
from services.contracts.hourly_schemas import (InvoiceDisputeIn, InvoiceOut, InvoicePage, LimitIn, PeriodArgs, ResolveIn,
                                               TimeEntryIn, TimeEntryOut, TimeEntryPage, TimeEntryPatchIn, TimesheetOut,
                                               TimesheetPage)
from services.contracts.schemas import ContractOut
from shared.errors import Forbidden
from shared.http import current_user, idempotent, one_page, paginate, require, unit_of_work
from shared.http.schemas import PageArgs

blueprint = Blueprint("hourly", __name__, url_prefix="/contracts",
                   description="Hourly contracts: time entries, weekly timesheets, invoices and their disputes")
CONTRACT = "/<uuid:contract_id>"
ENTRY = "/<uuid:contract_id>/time-entries/<uuid:entry_id>"
INVOICE = "/<uuid:contract_id>/invoices/<uuid:invoice_id>"


@blueprint.patch(CONTRACT)
@require()
@blueprint.arguments(LimitIn)
@blueprint.response(200, ContractOut)
def change_limit(body, contract_id):
    """The client changes an hourly contract's weekly limit; it applies from the next period."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "client")
        hourly.change_limit(uow, contract, body["weekly_limit_hours"])
        return contract


@blueprint.post(f"{CONTRACT}/pause")
@require()
@blueprint.response(200, ContractOut)
def pause(contract_id):
    """The client pauses an hourly contract: no time is logged until it resumes."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "client")
        hourly.pause_by_client(uow, contract)
        return contract


@blueprint.post(f"{CONTRACT}/resume")
@require()
@blueprint.response(200, ContractOut)
def resume(contract_id):
    """The client lifts their pause (a contract paused for an unpaid invoice stays paused until it is paid)."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "client")
        hourly.resume_by_client(uow, contract)
        return contract


@blueprint.post(f"{CONTRACT}/time-entries")
@require()
@blueprint.arguments(TimeEntryIn)
@idempotent
@blueprint.response(201, TimeEntryOut)
def add_entry(body, contract_id, uow):
    """The freelancer logs time on an active hourly contract, in a period still open for edits."""
    contract = _as_party(_visible(uow, contract_id), "freelancer")
    entry = hourly.add_entry(uow, contract, **body)
    return (hourly.one_with_billable(uow, contract, entry), 201,
            {"Location": f"/contracts/{contract.id}/time-entries/{entry.id}"})


@blueprint.get(f"{CONTRACT}/time-entries")
@require()
@blueprint.arguments(PeriodArgs, location="query")
@blueprint.response(200, TimeEntryPage)
def list_entries(args, contract_id):
    """A period's entries in billing order (the current period by default), each with its billable minutes."""
    with unit_of_work(readonly=True) as uow:
        contract = _readable(uow, contract_id)
        start = hourly.parse_period(uow, args["period_start"])
        return one_page(hourly.with_billable(contract, hourly.entries_of(uow.session, contract.id, start), start))


@blueprint.patch(ENTRY)
@require()
@blueprint.arguments(TimeEntryPatchIn)
@blueprint.response(200, TimeEntryOut)
def edit_entry(body, contract_id, entry_id):
    """The freelancer corrects an entry before its period's edit deadline."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "freelancer")
        entry = hourly.edit_entry(uow, contract, hourly.entry(uow, contract, str(entry_id)), body)
        uow.session.flush()
        return hourly.one_with_billable(uow, contract, entry)


@blueprint.delete(ENTRY)
@require()
@blueprint.response(204)
def delete_entry(contract_id, entry_id):
    """The freelancer removes an entry before its period's edit deadline."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "freelancer")
        hourly.delete_entry(uow, contract, hourly.entry(uow, contract, str(entry_id)))


@blueprint.get(f"{CONTRACT}/timesheets")
@require()
@blueprint.response(200, TimesheetPage)
def list_timesheets(contract_id):
    """The periods with entries, newest first."""
    with unit_of_work(readonly=True) as uow:
        return one_page(hourly.timesheets(uow, _readable(uow, contract_id)))


@blueprint.get(f"{CONTRACT}/timesheets/<period_start>")
@require()
@blueprint.response(200, TimesheetOut)
def get_timesheet(contract_id, period_start):
    """One period's timesheet (`current`, or a begun period's start; a period with nothing logged is zeros)."""
    with unit_of_work(readonly=True) as uow:
        contract = _readable(uow, contract_id)
        return hourly.timesheet(uow, contract, hourly.parse_period(uow, period_start))


@blueprint.get(f"{CONTRACT}/invoices")
@require()
@blueprint.arguments(PageArgs, location="query")
@blueprint.response(200, InvoicePage)
def list_invoices(args, contract_id):
    """The contract's invoices, newest first."""
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, billing.invoices(_readable(uow, contract_id)), Invoice, limit=args["limit"],
                        cursor=args["cursor"])


@blueprint.get(INVOICE)
@require()
@blueprint.response(200, InvoiceOut)
def get_invoice(contract_id, invoice_id):
    """One invoice of the contract."""
    with unit_of_work(readonly=True) as uow:
        contract = _readable(uow, contract_id)
        return billing.invoice_of(uow, contract, str(invoice_id))


@blueprint.post(f"{INVOICE}/dispute")
@require()
@blueprint.arguments(InvoiceDisputeIn)
@blueprint.response(200, InvoiceOut)
def dispute(body, contract_id, invoice_id):
    """The client disputes an invoice's hours inside its review window; the money stays held."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "client")
        invoice = billing.invoice_of(uow, contract, str(invoice_id))
        billing.dispute(uow, contract, invoice, body["reason"])
        return invoice


@blueprint.post(f"{INVOICE}/resolve")
@require()
@blueprint.arguments(ResolveIn)
@idempotent
@blueprint.response(202, InvoiceOut)
def resolve(body, contract_id, invoice_id, uow):
    """An admin splits a disputed invoice between the freelancer and a refund to the client."""
    contract = _visible(uow, contract_id)
    if not current_user().has("admin") or contract.is_party(current_user().id):
        raise Forbidden("Only an admin who is not a party resolves a disputed invoice.")
    invoice = billing.invoice_of(uow, contract, str(invoice_id))
    billing.resolve(uow, contract, invoice, **body)
    return invoice, 202


def _readable(uow, contract_id):
    """Parties and admins read an hourly contract's time and bills (409 on a fixed one)."""
    contract = _visible(uow, contract_id, lock=False)
    hourly.require_hourly(contract)
    return contract
