"""Indexes the worker's pruning reads: sent outbox rows by when they were sent, inbox rows by when handled.

Revision ID: kit_0003
Revises: kit_0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "kit_0003"
down_revision = "kit_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_sent", "outbox", ["sent_at"],
                    postgresql_where=sa.text("sent_at IS NOT NULL"), sqlite_where=sa.text("sent_at IS NOT NULL"))
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_handled_at", "inbox")
    op.drop_index("ix_outbox_sent", "outbox")
