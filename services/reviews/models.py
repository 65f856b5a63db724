"""Review windows (one per ended contract, with its two parties) and the reviews written in them."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class ReviewWindow(Base):
    """What reviews knows of an ended contract: who may review it, and until when."""

    __tablename__ = "review_windows"
    contract_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(36))
    freelancer_id: Mapped[str] = mapped_column(sa.String(36))
    status: Mapped[str] = mapped_column(sa.String(20), default="open")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def is_party(self, user_id: str) -> bool:
        return user_id in (self.client_id, self.freelancer_id)

    def other_party(self, user_id: str) -> str:
        return self.freelancer_id if user_id == self.client_id else self.client_id


class Review(Base):
    __tablename__ = "reviews"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.ForeignKey("review_windows.contract_id", ondelete="CASCADE"))
    reviewer_id: Mapped[str] = mapped_column(sa.String(36))
    reviewee_id: Mapped[str] = mapped_column(sa.String(36))
    rating: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="hidden")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint("contract_id", "reviewer_id", name="uq_reviews_contract_reviewer"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_reviews_rating"),
        sa.Index("ix_reviews_reviewee_published", "reviewee_id", "status", "created_at"),
    )
