"""Request and response bodies of fixed-price protection: milestone edits, refund requests, disputes, bonuses."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.contracts.schemas import MAX_MILESTONE_AMOUNT, MIN_MILESTONE_AMOUNT
from services.contracts.states import DISPUTE
from shared.http.schemas import (Currency, Day, Id, InSchema, Money, OutSchema, PageArgs, String, Timestamp,
                                 page_of)

REASON = validate.Length(min=1, max=5000)
RESOLUTIONS = ("no_response", "agreed", "arbitrated", "withdrawn_by_freelancer", "withdrawn_by_client")


class MilestonePatchIn(InSchema):
    title = String(validate=validate.Length(min=1, max=200))
    amount = Money(minimum=MIN_MILESTONE_AMOUNT, maximum=MAX_MILESTONE_AMOUNT)
    due_date = Day(allow_none=True)

    @validates_schema
    def _something(self, data, **_):
        if not data:
            raise ValidationError("Give at least one of title, amount, due_date.", "_schema")


class RefundRequestIn(InSchema):
    amount = Money(minimum=1, maximum=MAX_MILESTONE_AMOUNT, required=True)
    reason = String(required=True, validate=REASON)


class VoluntaryRefundIn(InSchema):
    amount = Money(minimum=1, maximum=MAX_MILESTONE_AMOUNT, required=True)


class DisputeIn(InSchema):
    reason = String(required=True, validate=REASON)


class StatementIn(InSchema):
    statement = String(required=True, validate=REASON)


class SplitIn(InSchema):
    freelancer_amount = Money(minimum=0, maximum=MAX_MILESTONE_AMOUNT, required=True)
    refund_amount = Money(minimum=0, maximum=MAX_MILESTONE_AMOUNT, required=True)
    note = String(allow_none=True, load_default=None, validate=validate.Length(max=5000))


class AnswerIn(InSchema):
    note = String(allow_none=True, load_default=None, validate=validate.Length(max=5000))


class BonusIn(InSchema):
    amount = Money(minimum=100, maximum=100_000_000, required=True)
    note = String(allow_none=True, load_default=None, validate=validate.Length(max=5000))


class DisputeQueueArgs(PageArgs):
    status = String(validate=validate.OneOf(DISPUTE.states))


class RefundRequestOut(OutSchema):
    id = Id()
    contract_id = Id()
    milestone_id = Id()
    amount = Money()
    currency = Currency()
    reason = fields.String()
    status = fields.String()
    auto = fields.Boolean()
    respond_by = Timestamp()
    dispute_id = Id(allow_none=True)
    created_at = Timestamp()
    closed_at = Timestamp(allow_none=True)


class ProposalOut(OutSchema):
    freelancer_amount = Money()
    refund_amount = Money()
    note = fields.String(allow_none=True)
    accept_by = Timestamp()
    client_answer = fields.String(allow_none=True)
    freelancer_answer = fields.String(allow_none=True)


class DisputeOut(OutSchema):
    id = Id()
    contract_id = Id()
    milestone_id = Id()
    refund_request_id = Id()
    client_id = Id()
    freelancer_id = Id()
    amount = Money()
    requested_amount = Money()
    currency = Currency()
    reason = fields.String()
    statement = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(DISPUTE.states))
    respond_by = Timestamp()
    proposal = fields.Nested(ProposalOut, allow_none=True)
    resolution = fields.String(allow_none=True, validate=validate.OneOf(RESOLUTIONS))
    freelancer_amount = Money(allow_none=True)
    refund_amount = Money(allow_none=True)
    created_at = Timestamp()
    resolved_at = Timestamp(allow_none=True)


class BonusOut(OutSchema):
    id = Id()
    contract_id = Id()
    client_id = Id()
    freelancer_id = Id()
    amount = Money()
    currency = Currency()
    note = fields.String(allow_none=True)
    client_fee = Money(allow_none=True)
    freelancer_fee = Money(allow_none=True)
    status = fields.String(validate=validate.OneOf(("pending", "paid", "failed")))
    failure_reason = fields.String(allow_none=True)
    available_at = Timestamp(allow_none=True)
    created_at = Timestamp()


RefundRequestPage = page_of(RefundRequestOut)
DisputePage = page_of(DisputeOut)
BonusPage = page_of(BonusOut)
