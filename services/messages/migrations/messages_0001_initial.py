"""messages: rooms, messages, read marks, attachments; notifications, webhooks, deliveries; what it learns.

Revision ID: messages_0001
Revises:
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "messages_0001"
down_revision = None
branch_labels = ("messages",)
depends_on = ("kit_0004",)  # its timers and the suspended accounts it follows are the kit's

ID = sa.String(36)


def _room_id() -> sa.Column:
    return sa.Column("room_id", ID, sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column("id", ID, primary_key=True),
        sa.Column("proposal_id", ID, nullable=False, unique=True),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("job_title", sa.Text, nullable=False),
        sa.Column("contract_id", ID),
        sa.Column("client_id", ID, nullable=False, index=True),
        sa.Column("freelancer_id", ID, nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("read_only_reason", sa.String(40)),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("last_message_id", ID),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_activity_at", UTCDateTime, nullable=False, index=True),
    )
    op.create_table(
        "room_contracts",
        sa.Column("contract_id", ID, primary_key=True),
        sa.Column("room_id", ID, sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False, index=True),
    )
    op.create_table(
        "messages",
        sa.Column("id", ID, primary_key=True),
        _room_id(),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("sender_id", ID, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
    )
    op.create_table(
        "read_marks",
        sa.Column("room_id", ID, sa.ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", ID, primary_key=True),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
    )
    op.create_table(
        "unread_reminders",
        sa.Column("room_id", ID, sa.ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", ID, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
    )
    op.create_table(
        "attachments",
        sa.Column("id", ID, primary_key=True),
        _room_id(),
        sa.Column("uploader_id", ID, nullable=False),
        sa.Column("message_id", ID, sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_attachments_unattached", "attachments", ["uploader_id", "message_id", "created_at"])
    op.create_table(
        "known_contracts",
        sa.Column("contract_id", ID, primary_key=True),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("proposal_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("freelancer_id", ID, nullable=False),
    )
    op.create_table(
        "known_reviews",
        sa.Column("review_id", ID, primary_key=True),
        sa.Column("contract_id", ID, nullable=False),
        sa.Column("reviewee_id", ID, nullable=False),
    )
    op.create_table(
        "recipients",
        sa.Column("user_id", ID, primary_key=True),
        sa.Column("email", sa.Text),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", ID, primary_key=True),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("read_at", UTCDateTime),
        sa.UniqueConstraint("user_id", "seq", name="uq_notifications_user_seq"),
    )
    op.create_index("ix_notifications_user_read", "notifications", ["user_id", "read_at"])
    op.create_table(
        "webhooks",
        sa.Column("id", ID, primary_key=True),
        sa.Column("user_id", ID, nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", ID, primary_key=True),
        sa.Column("webhook_id", ID, sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.JSON, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False, index=True),
        sa.Column("delivered_at", UTCDateTime),
    )


def downgrade() -> None:
    for table in ("deliveries", "webhooks", "notifications", "recipients", "known_reviews", "known_contracts",
                  "attachments", "unread_reminders", "read_marks", "messages", "room_contracts", "rooms"):
        op.drop_table(table)
