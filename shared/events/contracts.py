"""Events produced by the contracts service."""
from marshmallow import fields, validate

from shared.events.fields import Bps, EventSchema, Id, Integer, Money, String, Timestamp

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
    type = String(load_default="fixed", validate=validate.OneOf(["fixed", "hourly"]))
    hourly_rate = Money(allow_none=True, load_default=None)
    weekly_limit_hours = Integer(minimum=1, maximum=80, allow_none=True, load_default=None)


class ContractOffered(Parties):
    offer_expires_at = Timestamp(required=True)


class ContractActivated(Parties):
    pass


class ContractCancelled(Parties):
    end_reason = String(required=True, validate=validate.OneOf(END_REASONS))
    end_note = String(allow_none=True, load_default=None)
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


class _Shares(EventSchema):
    """Held money shared in one step: `freelancer_amount` to the freelancer, `refund_amount` back."""
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True)
    freelancer_amount = Money(required=True)
    refund_amount = Money(required=True)
    client_fee_bps = Bps()
    freelancer_fee_bps = Bps()


class SplitRequested(_Shares):
    """A claim (or a discounted approval) settled: payments empties the milestone's escrow in one step."""
    contract_id = Id(required=True)
    milestone_id = Id(required=True)


class BonusRequested(EventSchema):
    bonus_id = Id(required=True)
    contract_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True, minimum=1)
    client_fee_bps = Bps()
    freelancer_fee_bps = Bps()


class RefundRequestChanged(EventSchema):
    """A refund request opened or closed (no consumer: for the record and other readers)."""
    refund_request_id = Id(required=True)
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    status = String(required=True)
    amount = Money(required=True)
    auto = fields.Boolean(required=True)
    respond_by = Timestamp(required=True)
    dispute_id = Id(allow_none=True, load_default=None)


class DisputeChanged(EventSchema):
    """A dispute opened, escalated, got a proposal or was resolved (no consumer)."""
    dispute_id = Id(required=True)
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    refund_request_id = Id(required=True)
    status = String(required=True)
    amount = Money(required=True)
    requested_amount = Money(required=True)
    respond_by = Timestamp(required=True)
    accept_by = Timestamp(allow_none=True, load_default=None)
    resolution = String(allow_none=True, load_default=None)
    freelancer_amount = Money(allow_none=True, load_default=None)
    refund_amount = Money(allow_none=True, load_default=None)


PAUSE_REASONS = ("client", "payment_failed")


class ContractPaused(EventSchema):
    contract_id = Id(required=True)
    pause_reasons = fields.List(String(validate=validate.OneOf(PAUSE_REASONS)), required=True)


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


class InvoiceSplitRequested(_Shares):
    """A disputed invoice settled by an admin: payments shares its escrow in one step."""
    contract_id = Id(required=True)
    invoice_id = Id(required=True)


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
    "contracts.milestone.split_requested": SplitRequested,
    "contracts.bonus.requested": BonusRequested,
    "contracts.refund_request.opened": RefundRequestChanged,
    "contracts.refund_request.closed": RefundRequestChanged,
    "contracts.dispute.opened": DisputeChanged,
    "contracts.dispute.escalated": DisputeChanged,
    "contracts.dispute.proposed": DisputeChanged,
    "contracts.dispute.resolved": DisputeChanged,
    "contracts.contract.paused": ContractPaused,
    "contracts.contract.resumed": ContractResumed,
    "contracts.invoice.charge_requested": InvoiceChargeRequested,
    "contracts.invoice.approved": InvoiceApproved,
    "contracts.invoice.split_requested": InvoiceSplitRequested,
}
