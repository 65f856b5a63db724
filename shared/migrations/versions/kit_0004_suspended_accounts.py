"""Every service keeps the accounts it has heard are suspended, and refuses their writes.

Revision ID: kit_0004
Revises: kit_0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "kit_0004"
down_revision = "kit_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suspended_accounts",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("suspended_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("suspended_accounts")
