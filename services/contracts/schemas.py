"""Request and response bodies of the contracts API."""
from __future__ import annotations

from marshmallow import fields, validate

from services.contracts.states import CONTRACT_STATES, MILESTONE_STATES
from shared.events.contracts import END_REASONS
from shared.http.schemas import Currency, Day, Id, InSchema, Money, OutSchema, PageArgs, String, Timestamp, page_of

MIN_MILESTONE_AMOUNT = 500
MAX_MILESTONE_AMOUNT = 100_000_000


class NoteIn(InSchema):
    note = String(allow_none=True, load_default=None, validate=validate.Length(max=5000))


class MessageIn(InSchema):
    message = String(required=True, validate=validate.Length(min=1, max=5000))


class MilestoneIn(InSchema):
    title = String(required=True, validate=validate.Length(min=1, max=200))
    amount = Money(minimum=MIN_MILESTONE_AMOUNT, maximum=MAX_MILESTONE_AMOUNT, required=True)
    due_date = Day(allow_none=True, load_default=None)


class ContractListArgs(PageArgs):
    role = String(validate=validate.OneOf(("client", "freelancer")))
    status = String(validate=validate.OneOf(CONTRACT_STATES))


class MilestoneOut(OutSchema):
    id = Id()
    contract_id = Id()
    title = fields.String()
    amount = Money()
    due_date = Day(allow_none=True)
    status = fields.String(validate=validate.OneOf(MILESTONE_STATES))
    submission_message = fields.String(allow_none=True)
    changes_message = fields.String(allow_none=True)
    submitted_at = Timestamp(allow_none=True)
    auto_approve_at = Timestamp(allow_none=True)
    last_error = fields.String(allow_none=True)
    funded_at = Timestamp(allow_none=True)
    released_at = Timestamp(allow_none=True)
    discount_amount = Money()
    freelancer_amount = Money(allow_none=True)
    refund_amount = Money(allow_none=True)
    refund_request_id = Id(allow_none=True)
    dispute_id = Id(allow_none=True)


class ContractOut(OutSchema):
    id = Id()
    job_id = Id()
    proposal_id = Id()
    client_id = Id()
    freelancer_id = Id()
    title = fields.String()
    currency = Currency()
    status = fields.String(validate=validate.OneOf(CONTRACT_STATES))
    client_fee_bps = fields.Integer()
    freelancer_fee_bps = fields.Integer()
    milestones = fields.List(fields.Nested(MilestoneOut))
    total_amount = Money()
    released_amount = Money()
    offer_expires_at = Timestamp(allow_none=True)
    created_at = Timestamp()
    activated_at = Timestamp(allow_none=True)
    ended_at = Timestamp(allow_none=True)
    end_reason = fields.String(allow_none=True, validate=validate.OneOf(END_REASONS))
    end_note = fields.String(allow_none=True)
    type = fields.String(validate=validate.OneOf(("fixed", "hourly")))
    hourly_rate = Money(allow_none=True)
    weekly_limit_hours = fields.Integer(allow_none=True)
    next_weekly_limit_hours = fields.Integer(allow_none=True)
    next_weekly_limit_from = Timestamp(allow_none=True)
    pause_reasons = fields.List(fields.String(), allow_none=True)


ContractPage = page_of(ContractOut)


class ActorOut(OutSchema):
    kind = fields.String(validate=validate.OneOf(("user", "event", "timer", "system")))
    id = fields.String(allow_none=True, metadata={
        "description": "The user's id, the event's type or the timer's kind; null for the system."})


class StatusChangeOut(OutSchema):
    id = Id()
    contract_id = Id()
    milestone_id = Id(allow_none=True)
    subject = fields.String(validate=validate.OneOf(("contract", "milestone")))
    from_status = fields.String(allow_none=True, metadata={"description": "null when it was created."})
    to_status = fields.String()
    at = Timestamp()
    actor = fields.Nested(ActorOut)
    cause_id = fields.String(allow_none=True, metadata={
        "description": "The id of the request, of the event or of the timer that made the change."})
    correlation_id = fields.String(allow_none=True)
    money = fields.Dict(keys=fields.String(), values=fields.Raw(), metadata={
        "description": "What the payments event behind the change said the money did: its amounts and fees "
                       "(integer cents) and holds (`available_at`), as sent; empty for any other change.",
        "example": {"amount": 10000, "freelancer_fee": 1000, "available_at": "2026-12-07T12:00:00Z"}})


TimelinePage = page_of(StatusChangeOut)
