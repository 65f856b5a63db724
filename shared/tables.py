"""The kit's tables, present in every service's database."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import KitBase, UTCDateTime, utcnow


class OutboxRow(KitBase):
    """An event written with the state change that caused it; sent after commit."""

    __tablename__ = "outbox"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.Index("ix_outbox_unsent", "next_attempt_at", postgresql_where=sa.text("sent_at IS NULL"),
                 sqlite_where=sa.text("sent_at IS NULL")),
        # Pruning: the sent rows, oldest first.
        sa.Index("ix_outbox_sent", "sent_at", postgresql_where=sa.text("sent_at IS NOT NULL"),
                 sqlite_where=sa.text("sent_at IS NOT NULL")),
    )


class InboxRow(KitBase):
    """An event this service has handled; its primary key makes a second effect impossible."""

    __tablename__ = "inbox"
    event_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # pruning


class TimerRow(KitBase):
    """A durable timer: `kind` names the handler, `key` makes scheduling idempotent."""

    __tablename__ = "timers"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(100))
    key: Mapped[str] = mapped_column(sa.String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.UniqueConstraint("kind", "key", name="uq_timers_kind_key"),)


def rename_timer_kinds(execute: Callable[[sa.Executable], object], renames: Mapping[str, str]) -> None:
    """A data migration's step: timers set under an old kind fire under the new one (`execute`: `op.execute`)."""
    # A plain table, not TimerRow, so the step keeps working whatever later revisions add to the model.
    timers = sa.table("timers", sa.column("kind"))
    for old, new in renames.items():
        execute(sa.update(timers).where(timers.c.kind == old).values(kind=new))


class IdempotencyRow(KitBase):
    """The first response to an `Idempotency-Key`, replayed for a retried request."""

    __tablename__ = "idempotency_keys"
    scope: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(sa.Text)
    headers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RetryRow(KitBase):
    """A delivery of the embedded bus waiting for its retry (RabbitMQ keeps them in `<service>.retry.*`)."""

    __tablename__ = "bus_retries"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(100))
    type: Mapped[str | None] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    retries: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DeadLetterRow(KitBase):
    """A dead message of the embedded bus (RabbitMQ keeps them in `<service>.dead`)."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(100))
    type: Mapped[str | None] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    error: Mapped[str] = mapped_column(sa.Text)
    retries: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
