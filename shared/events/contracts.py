"""Events produced by the contracts service."""
from marshmallow import fields, validate

from shared.events.fields import Bps, EventSchema, Id, Integer, Money, Timestamp

END_REASONS = ("funding_failed", "declined", "withdrawn", "expired",
               "ended_by_client", "ended_by_freelancer", "party_suspended")


class Parties(EventSchema):
    contract_id = Id(required=True)
    job_id = Id(required=True)
    proposal_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)


class ContractCreated(Parties):
    client_fee_bps = Bps()
    freelancer_fee_bps = Bps()
    total_amount = Money(required=True)
    type = fields.String(load_default="fixed", validate=validate.OneOf(["fixed", "hourly"]))
    hourly_rate = Money(allow_none=True, load_default=None)
    weekly_limit_hours = Integer(minimum=1, maximum=80, allow_none=True, load_default=None)


class ContractOffered(Parties):
    offer_expires_at = Timestamp(required=True)


class ContractActivated(Parties):
    pass


class ContractCancelled(Parties):
    end_reason = fields.String(required=True, validate=validate.OneOf(END_REASONS))
    end_note = fields.String(allow_none=True, load_default=None)
    released_amount = Money(required=True)


class ContractCompleted(EventSchema):
    contract_id = Id(required=True)
    job_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    released_amount = Money(required=True)


class FundingRequested(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True)
    client_fee_bps = Bps()


class MilestoneSubmitted(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    auto_approve_at = Timestamp(required=True)


class MilestoneApproved(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True)
    freelancer_fee_bps = Bps()
    auto = fields.Boolean(required=True)


class RefundRequested(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    client_id = Id(required=True)
    amount = Money(required=True)


PAUSE_REASONS = ("client", "payment_failed")


class ContractPaused(EventSchema):
    contract_id = Id(required=True)
    pause_reasons = fields.List(fields.String(validate=validate.OneOf(PAUSE_REASONS)), required=True)


class ContractResumed(ContractPaused):
    pass


class InvoiceChargeRequested(EventSchema):
    contract_id = Id(required=True)
    invoice_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    period_start = Timestamp(required=True)
    period_end = Timestamp(required=True)
    billable_minutes = Integer(required=True, minimum=1)
    hourly_rate = Money(required=True)
    amount = Money(required=True)
    client_fee_bps = Bps()


class InvoiceApproved(EventSchema):
    contract_id = Id(required=True)
    invoice_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True)
    freelancer_fee_bps = Bps()


class InvoiceSplitRequested(EventSchema):
    contract_id = Id(required=True)
    invoice_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True)
    freelancer_amount = Money(required=True)
    refund_amount = Money(required=True)
    client_fee_bps = Bps()
    freelancer_fee_bps = Bps()


EVENTS = {
    "contracts.contract.created": ContractCreated,
    "contracts.contract.offered": ContractOffered,
    "contracts.contract.activated": ContractActivated,
    "contracts.contract.cancelled": ContractCancelled,
    "contracts.contract.completed": ContractCompleted,
    "contracts.milestone.funding_requested": FundingRequested,
    "contracts.milestone.submitted": MilestoneSubmitted,
    "contracts.milestone.approved": MilestoneApproved,
    "contracts.milestone.refund_requested": RefundRequested,
    "contracts.contract.paused": ContractPaused,
    "contracts.contract.resumed": ContractResumed,
    "contracts.invoice.charge_requested": InvoiceChargeRequested,
    "contracts.invoice.approved": InvoiceApproved,
    "contracts.invoice.split_requested": InvoiceSplitRequested,
}
