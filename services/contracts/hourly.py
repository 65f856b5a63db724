"""The hourly contract outside its billing saga: weekly limits, pauses, time entries and timesheets.

Every change runs under the contract's row lock (`sagas.locked_contract`, taken by the API): an entry
saved at the edit deadline and the timesheet's close (billing.py) are decided there by the clock.
"""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from services.contracts import sagas
from services.contracts.hourly_models import Invoice, TimeEntry
from services.contracts.models import Contract
from services.contracts.states import CONTRACT
from services.contracts.timesheets import (MINUTES_A_DAY, Period, amount_for, billable, entry_period_problem,
                                           entry_period_start, limit_at, period_at, period_from)
from shared.db import utcnow
from shared.errors import Conflict, NotFound, Unprocessable
from shared.ids import new_id

CLOSE_TIMESHEET = "contracts.timesheet.close"


# The contract

def require_hourly(contract: Contract) -> None:
    if contract.type != "hourly":
        raise Conflict("A fixed-price contract has no time entries, timesheets or invoices.")


def period(uow, moment: datetime) -> Period:
    return period_at(moment, uow.settings.billing_period, uow.settings.timesheet_edit_window)


def starting(uow, start: datetime) -> Period:
    return period_from(start, uow.settings.billing_period, uow.settings.timesheet_edit_window)


def limit_hours(contract: Contract, at: datetime) -> int | None:
    """The weekly limit of the period beginning at `at` (a change applies from the next period)."""
    return limit_at(contract.weekly_limits, at)


def change_limit(uow, contract: Contract, hours: int) -> None:
    """The client changes the weekly limit; it applies from the next period."""
    require_hourly(contract)
    if contract.status not in ("active", "paused"):
        raise Conflict(f"The contract is {contract.status}; its limit changes only while active or paused.")
    now = utcnow()
    current = period(uow, now)
    kept = [change for change in contract.weekly_limits or []
            if change["from"] is None or datetime.fromisoformat(change["from"]) <= now]
    if limit_hours(contract, current.start) != hours:
        kept.append({"from": current.end.isoformat(), "hours": hours})
    contract.weekly_limits = kept


def pause(uow, contract: Contract, reason: str) -> None:
    """A reason to stop logging time joins `pause_reasons`; an active contract becomes paused."""
    reasons = list(contract.pause_reasons or [])
    if reason in reasons:
        return
    contract.pause_reasons = sorted([*reasons, reason])
    if contract.status == "active":
        CONTRACT.apply(contract, "paused")
    sagas._emit(uow, contract, "contracts.contract.paused",
                {"contract_id": contract.id, "pause_reasons": contract.pause_reasons})


def resume(uow, contract: Contract, reason: str) -> None:
    """A reason is gone; with none left the contract is active again."""
    reasons = [each for each in contract.pause_reasons or [] if each != reason]
    if reasons == list(contract.pause_reasons or []):
        return
    contract.pause_reasons = reasons
    if not reasons and contract.status == "paused":
        CONTRACT.apply(contract, "active")
        sagas._emit(uow, contract, "contracts.contract.resumed",
                    {"contract_id": contract.id, "pause_reasons": reasons})


def pause_by_client(uow, contract: Contract) -> None:
    require_hourly(contract)
    if contract.status not in ("active", "paused") or "client" in (contract.pause_reasons or []):
        raise Conflict(f"The contract is {contract.status} ({', '.join(contract.pause_reasons or []) or 'no pause'}); "
                       "only an active or paused contract not paused by the client can be paused.")
    pause(uow, contract, "client")


def resume_by_client(uow, contract: Contract) -> None:
    require_hourly(contract)
    if contract.status != "paused" or "client" not in (contract.pause_reasons or []):
        raise Conflict("The contract is not paused by the client.")
    resume(uow, contract, "client")


# Time entries

def entries_of(session, contract_id: str, period_start: datetime) -> list[TimeEntry]:
    """A period's entries in billing order (`date`, `created_at`, `id`)."""
    return list(session.scalars(sa.select(TimeEntry).where(
        TimeEntry.contract_id == contract_id, TimeEntry.period_start == period_start)
        .order_by(TimeEntry.date, TimeEntry.created_at, TimeEntry.id)))


def billed(contract: Contract, entries: list[TimeEntry], period_start: datetime) -> dict[str, int]:
    """Each entry's billable minutes, by id, under the weekly limit of its period."""
    limit = 60 * (limit_hours(contract, period_start) or 0)
    return dict(zip((entry.id for entry in entries), billable([entry.minutes for entry in entries], limit)))


def _writable(uow, contract: Contract, start: datetime) -> Period:
    """The period an entry is written in, if time can still be written there now (else 409)."""
    require_hourly(contract)
    if contract.status != "active":
        raise Conflict(f"The contract is {contract.status}; time is logged only while it is active.")
    span = starting(uow, start)
    # Race: the timesheet closes at edit_until under this same lock, so an edit that gets the lock
    # later than that is refused here, and one that gets it earlier is in the invoice.
    if utcnow() >= span.edit_until:
        raise Conflict("The period's edit window is over; its entries are final.")
    if contract.activated_at is None or span.end <= contract.activated_at:
        raise Conflict("That period ended before the contract began.")
    return span


def _check_day(uow, contract: Contract, day: date, minutes: int, *, skip: str | None = None) -> None:
    if contract.activated_at is not None and day < contract.activated_at.date():
        raise Conflict("The date is before the contract began.")
    logged = uow.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(TimeEntry.minutes), 0)).where(
        TimeEntry.contract_id == contract.id, TimeEntry.date == day, TimeEntry.id != (skip or "")))
    if logged + minutes > MINUTES_A_DAY:
        raise Conflict(f"The contract already has {logged} minutes on {day}; a day holds {MINUTES_A_DAY}.")


def _period_problem(uow, day: date, start: datetime) -> None:
    problem = entry_period_problem(day, start, uow.settings.billing_period, utcnow())
    if problem:
        field, _, message = problem.partition(": ")
        raise Unprocessable(f"Invalid fields: {field}", {field: [message[:1].upper() + message[1:] + "."]})


def add_entry(uow, contract: Contract, *, date: date, minutes: int, memo: str,
              period_start: datetime | None = None) -> TimeEntry:
    """The freelancer logs time; a period's first entry sets the timer that closes its timesheet."""
    require_hourly(contract)
    now = utcnow()
    start = entry_period_start(date, now, uow.settings.billing_period, period_start)
    _period_problem(uow, date, start)
    span = _writable(uow, contract, start)
    _check_day(uow, contract, date, minutes)
    entry = TimeEntry(id=new_id(), contract_id=contract.id, period_start=span.start, date=date, minutes=minutes,
                      memo=memo, created_at=now, updated_at=now)
    uow.session.add(entry)
    uow.session.flush()
    uow.schedule(CLOSE_TIMESHEET, f"{contract.id}:{span.start.isoformat()}", span.edit_until,
                 sagas._timer_payload(contract, period_start=span.start.isoformat()))
    return entry


def entry(uow, contract: Contract, entry_id: str) -> TimeEntry:
    require_hourly(contract)
    found = uow.session.get(TimeEntry, entry_id)
    if found is None or found.contract_id != contract.id:
        raise NotFound("No such time entry in this contract.")
    return found


def edit_entry(uow, contract: Contract, found: TimeEntry, changes: dict) -> TimeEntry:
    """The freelancer corrects an entry of a period still inside its edit window; it keeps its period."""
    day = changes.get("date", found.date)
    if day != found.date:
        _period_problem(uow, day, found.period_start)
    _writable(uow, contract, found.period_start)
    _check_day(uow, contract, day, changes.get("minutes", found.minutes), skip=found.id)
    for name, value in changes.items():
        setattr(found, name, value)
    found.updated_at = utcnow()
    return found


def delete_entry(uow, contract: Contract, found: TimeEntry) -> None:
    _writable(uow, contract, found.period_start)
    uow.session.delete(found)


def with_billable(contract: Contract, entries: list[TimeEntry], period_start: datetime) -> list[dict]:
    minutes = billed(contract, entries, period_start)
    return [{**_entry_fields(each), "billable_minutes": minutes[each.id]} for each in entries]


def one_with_billable(uow, contract: Contract, found: TimeEntry) -> dict:
    entries = entries_of(uow.session, contract.id, found.period_start)
    return {**_entry_fields(found), "billable_minutes": billed(contract, entries, found.period_start).get(found.id, 0)}


def _entry_fields(found: TimeEntry) -> dict:
    return {name: getattr(found, name) for name in
            ("id", "contract_id", "period_start", "date", "minutes", "memo", "created_at", "updated_at")}


# Timesheets

def timesheet(uow, contract: Contract, start: datetime) -> dict:
    span = starting(uow, start)
    entries = entries_of(uow.session, contract.id, start)
    minutes = billed(contract, entries, start)
    invoice = uow.session.scalar(sa.select(Invoice).where(Invoice.contract_id == contract.id,
                                                          Invoice.period_start == start))
    total, billable_minutes = sum(e.minutes for e in entries), sum(minutes.values())
    return {"contract_id": contract.id, "period_start": span.start, "period_end": span.end,
            "edit_until": span.edit_until, "status": span.status(utcnow()),
            "limit_minutes": 60 * (limit_hours(contract, start) or 0), "total_minutes": total,
            "billable_minutes": billable_minutes, "hourly_rate": contract.hourly_rate,
            "amount": amount_for(billable_minutes, contract.hourly_rate or 0),
            "invoice_id": invoice.id if invoice else None}


def timesheets(uow, contract: Contract) -> list[dict]:
    starts = uow.session.scalars(sa.select(TimeEntry.period_start).where(TimeEntry.contract_id == contract.id)
                                 .distinct().order_by(TimeEntry.period_start.desc()))
    return [timesheet(uow, contract, start) for start in list(starts)]


def parse_period(uow, text: str) -> datetime:
    """`current` or a begun period's start (else 422 naming period_start)."""
    now = utcnow()
    if text == "current":
        return period(uow, now).start
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or moment > now or period(uow, moment).start != moment:
        raise Unprocessable("Invalid fields: period_start",
                            {"period_start": ["Must be `current` or the start of a period that has begun."]})
    return moment
