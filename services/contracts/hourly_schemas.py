"""Request and response bodies of the hourly part of the contracts API."""
from __future__ import annotations

from marshmallow import fields, validate

from services.contracts.states import INVOICE_STATES
from shared.http.schemas import Currency, Day, Id, InSchema, Integer, Money, OutSchema, String, Timestamp, page_of

MAX_WEEKLY_LIMIT_HOURS = 80


class LimitIn(InSchema):
    weekly_limit_hours = Integer(required=True, minimum=1, maximum=MAX_WEEKLY_LIMIT_HOURS)


class TimeEntryPatchIn(InSchema):
    date = Day()
    minutes = Integer(minimum=1, maximum=1440)
    memo = String(strip=True, validate=validate.Length(min=1, max=500))


class TimeEntryIn(TimeEntryPatchIn):
    date = Day(required=True)
    minutes = Integer(required=True, minimum=1, maximum=1440)
    memo = String(required=True, strip=True, validate=validate.Length(min=1, max=500))
    period_start = Timestamp(load_default=None, allow_none=True,
                             metadata={"description": "default: the period holding the earlier of now and the "
                                                      "last second of `date`"})


class PeriodArgs(InSchema):
    period_start = String(load_default="current", validate=validate.Length(max=40),
                          metadata={"description": "`current` (default) or the start of a period that has begun"})


class InvoiceDisputeIn(InSchema):
    reason = String(required=True, validate=validate.Length(min=1, max=5000))


class ResolveIn(InSchema):
    freelancer_amount = Money(required=True)
    refund_amount = Money(required=True)
    note = String(allow_none=True, load_default=None, validate=validate.Length(max=5000))


class TimeEntryOut(OutSchema):
    id = Id()
    contract_id = Id()
    period_start = Timestamp()
    date = Day()
    minutes = fields.Integer()
    memo = fields.String()
    billable_minutes = fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class TimesheetOut(OutSchema):
    contract_id = Id()
    period_start = Timestamp()
    period_end = Timestamp()
    edit_until = Timestamp()
    status = fields.String(validate=validate.OneOf(("open", "in_edit_window", "closed")))
    limit_minutes = fields.Integer()
    total_minutes = fields.Integer()
    billable_minutes = fields.Integer()
    hourly_rate = Money()
    amount = Money()
    invoice_id = Id(allow_none=True)


class InvoiceOut(OutSchema):
    id = Id()
    contract_id = Id()
    period_start = Timestamp()
    period_end = Timestamp()
    total_minutes = fields.Integer()
    billable_minutes = fields.Integer()
    hourly_rate = Money()
    amount = Money()
    client_fee = Money()
    currency = Currency()
    status = fields.String(validate=validate.OneOf(INVOICE_STATES))
    last_error = fields.String(allow_none=True)
    created_at = Timestamp()
    charged_at = Timestamp(allow_none=True)
    review_ends_at = Timestamp(allow_none=True)
    disputed_at = Timestamp(allow_none=True)
    dispute_reason = fields.String(allow_none=True)
    resolved_at = Timestamp(allow_none=True)
    freelancer_amount = Money(allow_none=True)
    freelancer_fee = Money(allow_none=True)
    refund_amount = Money(allow_none=True)
    released_at = Timestamp(allow_none=True)
    available_at = Timestamp(allow_none=True)


TimeEntryPage = page_of(TimeEntryOut)
TimesheetPage = page_of(TimesheetOut)
InvoicePage = page_of(InvoiceOut)
