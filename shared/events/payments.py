"""Events produced by the payments service."""

from shared.events.fields import EventSchema, Id, Money, String, Timestamp


class EscrowFunded(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    amount = Money(required=True)
    client_fee = Money(required=True)


class EscrowFundingFailed(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    reason = String(required=True)


class EscrowReleased(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True)
    freelancer_fee = Money(required=True)
    available_at = Timestamp(required=True)


class EscrowRefunded(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    client_id = Id(required=True)
    amount = Money(required=True)
    client_fee = Money(required=True)


class PayoutRequested(EventSchema):
    payout_id = Id(required=True)
    user_id = Id(required=True)
    amount = Money(required=True)


class PayoutPaid(PayoutRequested):
    pass


class PayoutFailed(PayoutRequested):
    reason = String(required=True)


EVENTS = {
    "payments.escrow.funded": EscrowFunded,
    "payments.escrow.funding_failed": EscrowFundingFailed,
    "payments.escrow.released": EscrowReleased,
    "payments.escrow.refunded": EscrowRefunded,
    "payments.payout.requested": PayoutRequested,
    "payments.payout.paid": PayoutPaid,
    "payments.payout.failed": PayoutFailed,
}
