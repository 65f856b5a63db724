"""contracts: the timeline, every change of status of a contract and its milestones (contract_history).

Nothing is backfilled: what happened before this revision was never recorded, and a row made up now
would tell of a change with no time, actor or cause. A contract's timeline begins with its first
change of status after the upgrade.

Revision ID: contracts_0006
Revises: contracts_0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "contracts_0006"
down_revision = "contracts_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_history",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("contract_id", sa.String(36), nullable=False),
        sa.Column("milestone_id", sa.String(36)),
        sa.Column("from_status", sa.String(20)),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor_kind", sa.String(10), nullable=False),
        sa.Column("actor_id", sa.String(200)),
        sa.Column("cause_id", sa.String(100)),
        sa.Column("correlation_id", sa.String(100)),
        sa.Column("money", sa.JSON, nullable=False),
    )
    op.create_index("ix_contract_history_contract", "contract_history", ["contract_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_contract_history_contract", "contract_history")
    op.drop_table("contract_history")
