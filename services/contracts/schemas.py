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
