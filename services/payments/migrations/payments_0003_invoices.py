"""payments: the money of hourly invoices (charged, held, released, refunded or split).

Revision ID: payments_0003
Revises: payments_0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "payments_0003"
down_revision = "payments_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_charges",
        sa.Column("invoice_id", sa.String(36), primary_key=True),
        sa.Column("contract_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("freelancer_id", sa.String(36), nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("client_fee", sa.BigInteger, nullable=False),
        sa.Column("client_fee_bps", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("last_error", sa.String(100)),
        sa.Column("retry_at", UTCDateTime),
        sa.Column("freelancer_amount", sa.BigInteger),
        sa.Column("freelancer_fee", sa.BigInteger),
        sa.Column("refund_amount", sa.BigInteger),
        sa.Column("client_fee_refund", sa.BigInteger),
        sa.Column("available_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("charged_at", UTCDateTime),
        sa.Column("settled_at", UTCDateTime),
    )
    op.create_index("ix_invoice_charges_contract_id", "invoice_charges", ["contract_id"])
    op.create_index("ix_invoice_charges_client_status", "invoice_charges", ["client_id", "status", "period_start"])


def downgrade() -> None:
    op.drop_index("ix_invoice_charges_client_status", "invoice_charges")
    op.drop_index("ix_invoice_charges_contract_id", "invoice_charges")
    op.drop_table("invoice_charges")
