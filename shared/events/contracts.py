"""Events produced by the contracts service."""
from marshmallow import fields, validate

from shared.events.fields import Bps, EventSchema, Id, Money, String, Timestamp

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
}
