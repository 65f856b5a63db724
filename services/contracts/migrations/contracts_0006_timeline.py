"""contracts: the timeline, every change of status of a contract and its milestones (contract_history).

The table is append-only in the database itself: an UPDATE or DELETE of a row is refused.

Nothing is backfilled: what happened before this revision was never recorded, and a row made up now
would tell of a change with no time, actor or cause. A contract's timeline begins with its first
change of status after the upgrade.

Revision ID: contracts_0006
Revises: contracts_0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "contracts_0006"
down_revision = "contracts_0005"
branch_labels = None
depends_on = None

REFUSED = "contract_history is append-only: its rows are never changed or deleted"


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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION contract_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN RAISE EXCEPTION '{REFUSED}'; END $$""")
        op.execute("""CREATE TRIGGER contract_history_append_only BEFORE UPDATE OR DELETE ON contract_history
                      FOR EACH ROW EXECUTE FUNCTION contract_history_append_only()""")
    else:
        for change in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER contract_history_no_{change.lower()} BEFORE {change} ON contract_history
                           BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER contract_history_append_only ON contract_history")
        op.execute("DROP FUNCTION contract_history_append_only()")
    op.drop_index("ix_contract_history_contract", "contract_history")
    op.drop_table("contract_history")  # SQLite's triggers go with their table
