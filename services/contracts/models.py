"""Contracts and their milestones: the state the hiring, funding, release and refund sagas keep."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.contracts.timesheets import limit_at, pending_limit
from shared.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class Contract(Base):
    __tablename__ = "contracts"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    proposal_id: Mapped[str] = mapped_column(sa.String(36))
    client_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    freelancer_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD")
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    client_fee_bps: Mapped[int]
    freelancer_fee_bps: Mapped[int]
    released_amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(sa.String(30))
    end_note: Mapped[str | None] = mapped_column(sa.Text)
    # When it began cancelling, and how often its settlement was looked at again past the deadline.
    cancelling_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resends: Mapped[int] = mapped_column(default=0)
    # Hourly contracts (hourly_models.py): the rate, the weekly limits by the period they start from
    # ([{"from": iso, "hours": n}], oldest first), why it is paused, and what was invoiced so far.
    type: Mapped[str] = mapped_column(sa.String(10), default="fixed")
    hourly_rate: Mapped[int | None] = mapped_column(sa.BigInteger)
    weekly_limits: Mapped[list | None] = mapped_column(sa.JSON)
    pause_reasons: Mapped[list | None] = mapped_column(sa.JSON)
    invoiced_amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    milestones: Mapped[list["Milestone"]] = relationship(back_populates="contract", lazy="selectin",
                                                         order_by="Milestone.position", cascade="all, delete-orphan")

    @property
    def total_amount(self) -> int:
        if self.type == "hourly":
            return self.invoiced_amount
        return sum(milestone.amount for milestone in self.milestones)

    @property
    def weekly_limit_hours(self) -> int | None:
        return limit_at(self.weekly_limits, utcnow())

    @property
    def next_weekly_limit_hours(self) -> int | None:
        change = pending_limit(self.weekly_limits, utcnow())
        return change["hours"] if change else None

    @property
    def next_weekly_limit_from(self) -> datetime | None:
        change = pending_limit(self.weekly_limits, utcnow())
        return datetime.fromisoformat(change["from"]) if change else None

    def is_party(self, user_id: str) -> bool:
        return user_id in (self.client_id, self.freelancer_id)

    def milestone(self, milestone_id: str) -> "Milestone | None":
        return next((m for m in self.milestones if m.id == milestone_id), None)

    @property
    def parties(self) -> dict:
        return {"contract_id": self.id, "job_id": self.job_id, "proposal_id": self.proposal_id,
                "client_id": self.client_id, "freelancer_id": self.freelancer_id}


class Milestone(Base):
    __tablename__ = "milestones"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)  # in-flight steps are counted often
    submission_message: Mapped[str | None] = mapped_column(sa.Text)
    changes_message: Mapped[str | None] = mapped_column(sa.Text)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_approve_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    funded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its current request to payments (funding, release, refund) was first sent, and how many
    # times it has been sent again since, past its deadline.
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resends: Mapped[int] = mapped_column(default=0)
    # Fixed-price protection (disputes.py, refunds.py): what the freelancer gave back so far, the
    # split asked of payments, its gross shares once settled, the last claim, and the state a claim
    # gives the milestone back in.
    discount_amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    asked_refund_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    freelancer_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    refund_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    refund_request_id: Mapped[str | None] = mapped_column(sa.String(36))
    dispute_id: Mapped[str | None] = mapped_column(sa.String(36))
    claimed_from: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    contract: Mapped[Contract] = relationship(back_populates="milestones")
