"""The records of fixed-price protection: refund requests, disputes and bonuses of a contract."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from services.contracts.models import Base
from shared.db import UTCDateTime, utcnow


class RefundRequest(Base):
    """The client asks `amount` of a milestone's escrow back; the freelancer accepts or disputes."""

    __tablename__ = "refund_requests"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    milestone_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20))
    auto: Mapped[bool] = mapped_column(default=False)
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    dispute_id: Mapped[str | None] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Dispute(Base):
    """A disputed refund request: the client's response, an admin's proposal, the parties' answers, a decision."""

    __tablename__ = "disputes"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    milestone_id: Mapped[str] = mapped_column(sa.String(36))
    refund_request_id: Mapped[str] = mapped_column(sa.String(36))
    client_id: Mapped[str] = mapped_column(sa.String(36))
    freelancer_id: Mapped[str] = mapped_column(sa.String(36))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    requested_amount: Mapped[int] = mapped_column(sa.BigInteger)
    reason: Mapped[str] = mapped_column(sa.Text)
    statement: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)  # the admin's queue reads by status
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime)
    proposal_freelancer_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    proposal_refund_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    proposal_note: Mapped[str | None] = mapped_column(sa.Text)
    accept_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_answer: Mapped[str | None] = mapped_column(sa.String(10))
    freelancer_answer: Mapped[str | None] = mapped_column(sa.String(10))
    client_note: Mapped[str | None] = mapped_column(sa.Text)
    freelancer_note: Mapped[str | None] = mapped_column(sa.Text)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    resolution: Mapped[str | None] = mapped_column(sa.String(30))
    freelancer_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    refund_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def proposal(self) -> dict | None:
        if self.accept_by is None:
            return None
        return {"freelancer_amount": self.proposal_freelancer_amount, "refund_amount": self.proposal_refund_amount,
                "note": self.proposal_note, "accept_by": self.accept_by, "client_answer": self.client_answer,
                "freelancer_answer": self.freelancer_answer}


class Bonus(Base):
    """Money the client adds for the freelancer on top of the milestones; payments pays it or says why not."""

    __tablename__ = "bonuses"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(36))
    freelancer_id: Mapped[str] = mapped_column(sa.String(36))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str | None] = mapped_column(sa.Text)
    client_fee: Mapped[int | None] = mapped_column(sa.BigInteger)
    freelancer_fee: Mapped[int | None] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20))
    failure_reason: Mapped[str | None] = mapped_column(sa.String(100))
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
