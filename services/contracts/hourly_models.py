"""What an hourly contract keeps besides the contract: its time entries and one invoice per period."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.contracts.models import Base, Contract
from shared.db import UTCDateTime, utcnow


class TimeEntry(Base):
    __tablename__ = "time_entries"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    date: Mapped[date] = mapped_column(sa.Date)
    minutes: Mapped[int]
    memo: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_time_entries_period", "contract_id", "period_start", "date", "created_at", "id"),
                      sa.Index("ix_time_entries_day", "contract_id", "date"))


class Invoice(Base):
    """One period's bill: `pending_payment` → `in_review` (or `payment_failed` → `in_review`) →
    `releasing` → `released`, or `disputed` → `resolving` → `resolved`."""

    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    total_minutes: Mapped[int]
    billable_minutes: Mapped[int]
    hourly_rate: Mapped[int] = mapped_column(sa.BigInteger)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    client_fee: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    charged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispute_reason: Mapped[str | None] = mapped_column(sa.Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(sa.Text)
    freelancer_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    freelancer_fee: Mapped[int | None] = mapped_column(sa.BigInteger)
    refund_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The deadline of a request to payments (pending_payment, releasing, resolving), as a milestone's:
    # when this step's request first went out, and how often it was sent again since.
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resends: Mapped[int] = mapped_column(default=0)

    # Invariant 1: one invoice per contract and period, whatever runs twice.
    __table_args__ = (sa.UniqueConstraint("contract_id", "period_start", name="uq_invoices_period"),)


SETTLED = ("released", "resolved")


def unsettled(session, contract: Contract) -> bool:
    """An hourly contract still owes a bill: a period with entries not invoiced yet, or an invoice
    neither released nor resolved (a cancelling contract waits for both)."""
    if contract.type != "hourly":
        return False
    open_invoice = sa.exists().where(Invoice.contract_id == contract.id, Invoice.status.not_in(SETTLED))
    uninvoiced = sa.exists().where(TimeEntry.contract_id == contract.id, ~sa.exists().where(
        Invoice.contract_id == TimeEntry.contract_id, Invoice.period_start == TimeEntry.period_start))
    return bool(session.scalar(sa.select(sa.or_(open_invoice, uninvoiced))))
