"""contracts: hourly contracts, their time entries and one invoice per billing period.

Contracts made before are fixed-price (`type` = fixed).

Revision ID: contracts_0004
Revises: contracts_0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "contracts_0004"
down_revision = "contracts_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contracts") as table:
        table.add_column(sa.Column("type", sa.String(10), nullable=False, server_default="fixed"))
        table.add_column(sa.Column("hourly_rate", sa.BigInteger))
        table.add_column(sa.Column("weekly_limits", sa.JSON))
        table.add_column(sa.Column("pause_reasons", sa.JSON))
        table.add_column(sa.Column("invoiced_amount", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "time_entries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("memo", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_time_entries_period", "time_entries", ["contract_id", "period_start", "date", "created_at", "id"])
    op.create_index("ix_time_entries_day", "time_entries", ["contract_id", "date"])
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("total_minutes", sa.Integer, nullable=False),
        sa.Column("billable_minutes", sa.Integer, nullable=False),
        sa.Column("hourly_rate", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("client_fee", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("charged_at", UTCDateTime),
        sa.Column("review_ends_at", UTCDateTime),
        sa.Column("disputed_at", UTCDateTime),
        sa.Column("dispute_reason", sa.Text),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("resolution_note", sa.Text),
        sa.Column("freelancer_amount", sa.BigInteger),
        sa.Column("freelancer_fee", sa.BigInteger),
        sa.Column("refund_amount", sa.BigInteger),
        sa.Column("released_at", UTCDateTime),
        sa.Column("available_at", UTCDateTime),
        sa.UniqueConstraint("contract_id", "period_start", name="uq_invoices_period"),
    )
    op.create_index("ix_invoices_status", "invoices", ["status"])


def downgrade() -> None:
    op.drop_index("ix_invoices_status", "invoices")
    op.drop_table("invoices")
    op.drop_index("ix_time_entries_day", "time_entries")
    op.drop_index("ix_time_entries_period", "time_entries")
    op.drop_table("time_entries")
    with op.batch_alter_table("contracts") as table:
        for column in ("invoiced_amount", "pause_reasons", "weekly_limits", "hourly_rate", "type"):
            table.drop_column(column)
