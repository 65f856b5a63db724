"""Rooms and their messages, read marks and attachments; notifications, webhooks and their deliveries;
and what messages has learned from other services' events (contracts' parties, reviewees, e-mails)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class Room(Base):
    """One per proposal: its client and freelancer write to each other here."""

    __tablename__ = "rooms"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    proposal_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    job_id: Mapped[str] = mapped_column(sa.String(36))
    job_title: Mapped[str] = mapped_column(sa.Text)
    contract_id: Mapped[str | None] = mapped_column(sa.String(36))
    client_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    freelancer_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    read_only_reason: Mapped[str | None] = mapped_column(sa.String(40))
    last_seq: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_message_id: Mapped[str | None] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def is_party(self, user_id: str) -> bool:
        return user_id in (self.client_id, self.freelancer_id)

    def other_party(self, user_id: str) -> str:
        return self.freelancer_id if user_id == self.client_id else self.client_id

    @property
    def correlation_id(self) -> str:
        return self.contract_id or self.proposal_id


class RoomContract(Base):
    """Every contract ever linked to a room (a re-hire links a second one): `GET /rooms?contract_id=`."""

    __tablename__ = "room_contracts"
    contract_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"), index=True)


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(sa.Integer)
    sender_id: Mapped[str] = mapped_column(sa.String(36))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attachments: Mapped[list["Attachment"]] = relationship(lazy="selectin", order_by="Attachment.created_at",
                                                           viewonly=True)

    __table_args__ = (sa.UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),)


class ReadMark(Base):
    """How far a party has read a room: up to and including message `seq`."""

    __tablename__ = "read_marks"
    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(36))
    seq: Mapped[int] = mapped_column(sa.Integer)


class Attachment(Base):
    """An uploaded file, its bytes in this database; visible to the other party once attached."""

    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"))
    uploader_id: Mapped[str] = mapped_column(sa.String(36))
    message_id: Mapped[str | None] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.Text)
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_attachments_unattached", "uploader_id", "message_id", "created_at"),)


class KnownContract(Base):
    """A contract's parties, learned from `jobs.hire.requested` and contracts' events."""

    __tablename__ = "known_contracts"
    contract_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(36))
    proposal_id: Mapped[str] = mapped_column(sa.String(36))
    client_id: Mapped[str] = mapped_column(sa.String(36))
    freelancer_id: Mapped[str] = mapped_column(sa.String(36))


class KnownReview(Base):
    """Who a review is about, learned from `reviews.review.submitted`."""

    __tablename__ = "known_reviews"
    review_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.String(36))
    reviewee_id: Mapped[str] = mapped_column(sa.String(36))


class Recipient(Base):
    """A user's e-mail address (from `users.user.registered`, only to send to) and notification sequence."""

    __tablename__ = "recipients"
    user_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.Text)
    last_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(36))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(40))
    text: Mapped[str] = mapped_column(sa.Text)
    resource: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.UniqueConstraint("user_id", "seq", name="uq_notifications_user_seq"),
                      sa.Index("ix_notifications_user_read", "user_id", "read_at"))


class Webhook(Base):
    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    url: Mapped[str] = mapped_column(sa.Text)
    events: Mapped[list[str]] = mapped_column(sa.JSON)
    secret: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def wants(self, kind: str) -> bool:
        return "*" in self.events or kind in self.events


class Delivery(Base):
    """One notification sent to one webhook: its attempts, in order, and what became of it."""

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    notification_id: Mapped[str] = mapped_column(sa.String(36))
    user_id: Mapped[str] = mapped_column(sa.String(36))
    kind: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UnreadReminder(Base):
    """The message a recipient was last to be e-mailed about in a room; none again until they read past it."""

    __tablename__ = "unread_reminders"
    room_id: Mapped[str] = mapped_column(sa.ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(sa.Integer)
