"""The pure rules of hourly billing: which period a moment or an entry belongs to, and what is billed.

Period k is `[ANCHOR + k × BILLING_PERIOD, ANCHOR + (k+1) × BILLING_PERIOD)`, whatever the length: the
calendar week by default (Monday 00:00 UTC to Monday 00:00 UTC), a few seconds in a compressed run.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

ANCHOR = datetime(1970, 1, 5, tzinfo=timezone.utc)  # a Monday
DAY = timedelta(days=1)
MINUTES_A_DAY = 1440


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    edit_until: datetime

    def status(self, now: datetime) -> str:
        if now < self.end:
            return "open"
        return "in_edit_window" if now < self.edit_until else "closed"


def period_at(moment: datetime, length: timedelta, edit_window: timedelta) -> Period:
    """The period holding `moment`: k = ⌊(moment − ANCHOR) / length⌋."""
    start = ANCHOR + (moment - ANCHOR) // length * length
    return period_from(start, length, edit_window)


def period_from(start: datetime, length: timedelta, edit_window: timedelta) -> Period:
    return Period(start, start + length, start + length + edit_window)


def is_period_start(moment: datetime, length: timedelta) -> bool:
    return (moment - ANCHOR) % length == timedelta(0)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start, start + DAY


def entry_period_problem(day: date, start: datetime, length: timedelta, now: datetime) -> str | None:
    """Why an entry dated `day` cannot belong to the period beginning at `start`, or None when it can:
    `start` must be a period's start that has begun, the period must overlap `day`, and `day` must not
    be after today."""
    if day > now.date():
        return "date: must not be after today"
    if not is_period_start(start, length):
        return "period_start: is not the start of a billing period"
    if start > now:
        return "period_start: that period has not begun"
    day_start, day_end = day_bounds(day)
    if not (start < day_end and day_start < start + length):
        return "date: is not inside that billing period"
    return None


def entry_period_start(day: date, now: datetime, length: timedelta, given: datetime | None = None) -> datetime:
    """The start of the period an entry dated `day` goes to: `given`, else the one holding the earlier
    of now and the last second of `day`."""
    if given is not None:
        return given
    last_second = day_bounds(day)[1] - timedelta(seconds=1)
    return ANCHOR + (min(now, last_second) - ANCHOR) // length * length


def billable(minutes: list[int], limit_minutes: int) -> list[int]:
    """Each entry's billable minutes, in billing order: entries fill the limit, the one crossing it in
    part, later ones 0 (recorded, never billed)."""
    left, billed = limit_minutes, []
    for each in minutes:
        take = min(each, max(left, 0))
        billed.append(take)
        left -= take
    return billed


def amount_for(billable_minutes: int, hourly_rate: int) -> int:
    """Billable minutes × rate (cents an hour) / 60, rounded half up to the cent, in integers."""
    return (billable_minutes * hourly_rate + 30) // 60


def fee(amount: int, bps: int) -> int:
    """`amount × bps / 10000` half up: the invoice shows the client fee payments will take, by payments' rule."""
    return (amount * bps + 5_000) // 10_000


def limit_at(limits: list[dict] | None, moment: datetime) -> int | None:
    """The weekly limit in force at `moment`: the last change (`{"from": iso or None, "hours"}`, oldest
    first) that applies from it or earlier; None on a fixed-price contract."""
    hours = None
    for change in limits or []:
        if change["from"] is None or datetime.fromisoformat(change["from"]) <= moment:
            hours = change["hours"]
    return hours


def pending_limit(limits: list[dict] | None, moment: datetime) -> dict | None:
    """The change of the weekly limit that applies from a period not begun at `moment`, if any."""
    return next((change for change in limits or []
                 if change["from"] is not None and datetime.fromisoformat(change["from"]) > moment), None)
