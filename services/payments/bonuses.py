"""Bonuses: a client's extra payment to the freelancer of their contract, charged with the client fee and
paid less the freelancer fee into the freelancer's pending money for the payout hold, once. Each outcome
is kept, so a redelivered request gets the same answer and a failed bonus never pays.

| step      | key                       | transfers                                                          |
|-----------|---------------------------|--------------------------------------------------------------------|
| bonus B   | `bonus:<bonus_id>`        | client available → freelancer pending B; freelancer pending →      |
|           |                           | platform fees fee(B, freelancer bps); client available → platform  |
|           |                           | fees fee(B, client bps)                                            |
| hold ends | `bonus-hold-end:<bonus_id>` | freelancer pending → available: B − its fee                      |
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.payments import ledger
from services.payments.ledger import InsufficientFunds, Transfer
from services.payments.models import Base
from shared.db import UTCDateTime, utcnow

HOLD_END = "payments.bonus.end_hold"


class BonusPayment(Base):
    """The outcome of one bonus request: `paid` (its fees and when it is available) or `failed`."""

    __tablename__ = "bonus_payments"
    bonus_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(36))
    freelancer_id: Mapped[str] = mapped_column(sa.String(36))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    client_fee: Mapped[int] = mapped_column(sa.BigInteger)
    freelancer_fee: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20))
    failure_reason: Mapped[str | None] = mapped_column(sa.String(100))
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def pay(uow, *, bonus_id: str, contract_id: str, client_id: str, freelancer_id: str, amount: int,
        client_fee_bps: int, freelancer_fee_bps: int) -> None:
    """Pay the bonus from the client's available money, or record that it failed with nothing moved."""
    # Locking: the accounts first, so two deliveries of one request queue here and the later finds the outcome.
    ledger.lock(uow, [ledger.available(client_id), ledger.pending(freelancer_id), ledger.PLATFORM_FEES])
    payment = uow.session.get(BonusPayment, bonus_id, populate_existing=True)
    if payment is None:
        payment = BonusPayment(bonus_id=bonus_id, contract_id=contract_id, client_id=client_id,
                               freelancer_id=freelancer_id, amount=amount, client_fee=ledger.fee(amount, client_fee_bps),
                               freelancer_fee=ledger.fee(amount, freelancer_fee_bps), status="paid",
                               available_at=utcnow() + uow.settings.payout_hold, created_at=utcnow())
        try:
            ledger.post(uow, f"bonus:{bonus_id}", "bonus", bonus_id, [
                Transfer(ledger.available(client_id), ledger.pending(freelancer_id), amount, "bonus"),
                Transfer(ledger.pending(freelancer_id), ledger.PLATFORM_FEES, payment.freelancer_fee,
                         "freelancer_fee"),
                Transfer(ledger.available(client_id), ledger.PLATFORM_FEES, payment.client_fee, "client_fee"),
            ])
            uow.schedule(HOLD_END, bonus_id, payment.available_at, {"correlation_id": contract_id}, new=True)
        except InsufficientFunds:
            payment.status, payment.failure_reason, payment.available_at = "failed", "insufficient_funds", None
        uow.session.add(payment)
        uow.session.flush()
    answer(uow, payment)


def answer(uow, payment: BonusPayment) -> None:
    data = {"bonus_id": payment.bonus_id, "contract_id": payment.contract_id, "amount": payment.amount,
            "client_fee": payment.client_fee, "freelancer_fee": payment.freelancer_fee,
            "available_at": payment.available_at}
    if payment.status == "paid":
        uow.emit("payments.bonus.paid", data, correlation_id=payment.contract_id)
    else:
        uow.emit("payments.bonus.failed", {**data, "reason": payment.failure_reason},
                 correlation_id=payment.contract_id)


def end_hold(uow, bonus_id: str) -> None:
    """A paid bonus's payout hold is over: the freelancer's money becomes available."""
    payment = uow.session.get(BonusPayment, bonus_id)
    if payment is None or payment.status != "paid":
        return
    ledger.post(uow, f"bonus-hold-end:{bonus_id}", "hold_end", bonus_id, [
        Transfer(ledger.pending(payment.freelancer_id), ledger.available(payment.freelancer_id),
                 payment.amount - payment.freelancer_fee, "hold_end"),
    ])
