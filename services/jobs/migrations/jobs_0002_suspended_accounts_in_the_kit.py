"""jobs keeps the suspended accounts in the kit's table, as every service does, not in one of its own.

Revision ID: jobs_0002
Revises: jobs_0001
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "jobs_0002"
down_revision = "jobs_0001"
branch_labels = None
depends_on = ("kit_0004",)

COPY = ("INSERT INTO {target} (user_id, reason, suspended_at) SELECT user_id, reason, suspended_at FROM {source} "
        "WHERE user_id NOT IN (SELECT user_id FROM {target})")


def upgrade() -> None:
    # Durability: the accounts jobs heard were suspended stay suspended across the move.
    op.execute(COPY.format(target="suspended_accounts", source="suspended_users"))
    op.drop_table("suspended_users")


def downgrade() -> None:
    op.create_table(
        "suspended_users",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("suspended_at", UTCDateTime, nullable=False),
    )
    op.execute(COPY.format(target="suspended_users", source="suspended_accounts"))
