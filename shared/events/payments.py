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


class EscrowSplit(EventSchema):
    contract_id = Id(required=True)
    milestone_id = Id(required=True)
    freelancer_amount = Money(required=True)
    refund_amount = Money(required=True)
    freelancer_fee = Money(required=True)
    client_fee_refund = Money(required=True)
    available_at = Timestamp(allow_none=True, load_default=None)


class BonusPaid(EventSchema):
    bonus_id = Id(required=True)
    contract_id = Id(required=True)
    amount = Money(required=True)
    client_fee = Money(required=True)
    freelancer_fee = Money(required=True)
    available_at = Timestamp(required=True)


class BonusFailed(EventSchema):
    """Nothing moved: the fees it would have cost are given, no money is available later."""
    bonus_id = Id(required=True)
    contract_id = Id(required=True)
    amount = Money(required=True)
    client_fee = Money(required=True)
    freelancer_fee = Money(required=True)
    available_at = Timestamp(allow_none=True, load_default=None)
    reason = String(required=True)


class PayoutRequested(EventSchema):
    payout_id = Id(required=True)
    user_id = Id(required=True)
    amount = Money(required=True)


class PayoutPaid(PayoutRequested):
    pass


class PayoutFailed(PayoutRequested):
    reason = String(required=True)


class InvoiceCharged(EventSchema):
    contract_id = Id(required=True)
    invoice_id = Id(required=True)
    amount = Money(required=True)
    client_fee = Money(required=True)
    charged_at = Timestamp(required=True)


class InvoiceChargeFailed(EventSchema):
    contract_id = Id(required=True)
    invoice_id = Id(required=True)
    client_id = Id(required=True)
    amount = Money(required=True)
    client_fee = Money(required=True)
    reason = String(required=True)
    retry_at = Timestamp(required=True)


class InvoiceReleased(EventSchema):
    contract_id = Id(required=True)
    invoice_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True)
    freelancer_fee = Money(required=True)
    available_at = Timestamp(required=True)


class InvoiceSplit(EventSchema):
    contract_id = Id(required=True)
    invoice_id = Id(required=True)
    freelancer_amount = Money(required=True)
    freelancer_fee = Money(required=True)
    refund_amount = Money(required=True)
    client_fee_refund = Money(required=True)
    available_at = Timestamp(allow_none=True, required=True)  # null when the freelancer gets nothing


class DepositSucceeded(EventSchema):
    deposit_id = Id(required=True)
    user_id = Id(required=True)
    amount = Money(required=True)


EVENTS = {
    "payments.escrow.funded": EscrowFunded,
    "payments.escrow.funding_failed": EscrowFundingFailed,
    "payments.escrow.released": EscrowReleased,
    "payments.escrow.refunded": EscrowRefunded,
    "payments.escrow.split": EscrowSplit,
    "payments.bonus.paid": BonusPaid,
    "payments.bonus.failed": BonusFailed,
    "payments.payout.requested": PayoutRequested,
    "payments.payout.paid": PayoutPaid,
    "payments.payout.failed": PayoutFailed,
    "payments.invoice.charged": InvoiceCharged,
    "payments.invoice.charge_failed": InvoiceChargeFailed,
    "payments.invoice.released": InvoiceReleased,
    "payments.invoice.split": InvoiceSplit,
    "payments.deposit.succeeded": DepositSucceeded,
}
