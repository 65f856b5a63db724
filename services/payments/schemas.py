"""Request and response bodies of the payments API."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_load, validate, validates

from services.payments.cards import luhn_valid, normalize
from shared.http.schemas import Currency, Digits, Id, InSchema, Money, OutSchema, String, Timestamp, page_of


class DepositIn(InSchema):
    amount = Money(minimum=500, maximum=100_000_000, required=True)
    card_number = String(required=True, load_only=True, validate=validate.Length(max=40))

    @validates("card_number")
    def _luhn(self, value, **_):
        if not luhn_valid(normalize(value)):
            raise ValidationError("Not a valid card number.")

    @post_load
    def _normalize(self, data, **_):
        data["card_number"] = normalize(data["card_number"])
        return data


class DestinationIn(InSchema):
    type = String(required=True, validate=validate.OneOf(["bank_account"]))
    account_number = Digits(required=True, minimum=4, maximum=34)
    routing_number = Digits(required=True, length=9)


class PayoutIn(InSchema):
    amount = Money(minimum=100, maximum=100_000_000_000, required=True)
    destination = fields.Nested(DestinationIn, required=True)


class DepositOut(OutSchema):
    id = Id()
    amount = Money()
    currency = Currency()
    status = fields.String()
    failure_reason = fields.String(allow_none=True)
    created_at = Timestamp()


class DestinationOut(OutSchema):
    type = fields.String()
    account_number = fields.String()
    routing_number = fields.String()


class PayoutOut(OutSchema):
    id = Id()
    amount = Money()
    currency = Currency()
    status = fields.String()
    destination = fields.Nested(DestinationOut)
    failure_reason = fields.String(allow_none=True)
    created_at = Timestamp()
    settled_at = Timestamp(allow_none=True)


class BalanceOut(OutSchema):
    user_id = Id()
    currency = Currency()
    available = Money()
    pending = Money()
    in_escrow = Money()
    in_payout = Money()


class TransactionOut(OutSchema):
    id = Id()
    kind = fields.String()
    amount = Money()
    account = fields.String()
    reference = fields.String()
    created_at = Timestamp()


TransactionPage = page_of(TransactionOut)


class EscrowMilestoneOut(OutSchema):
    milestone_id = Id()
    amount = Money()
    status = fields.String()
    client_fee = Money()
    freelancer_fee = Money()
    freelancer_amount = Money()
    refund_amount = Money()
    client_fee_refund = Money()


class EscrowInvoiceOut(OutSchema):
    invoice_id = Id()
    amount = Money()
    status = fields.String(validate=validate.OneOf(("unpaid", "held", "released", "refunded", "split")))


class EscrowOut(OutSchema):
    contract_id = Id()
    currency = Currency()
    held_amount = Money()
    milestones = fields.List(fields.Nested(EscrowMilestoneOut))
    invoices = fields.List(fields.Nested(EscrowInvoiceOut))


class LedgerCheckOut(OutSchema):
    balanced = fields.Boolean()
    accounts = fields.Integer()
    total = fields.Integer()
    negative_accounts = fields.List(fields.String())
    mismatched_accounts = fields.List(fields.String())
    unbalanced_entries = fields.List(fields.String())
    escrow_mismatches = fields.List(fields.String())
    platform_fees = Money()

