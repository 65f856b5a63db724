"""contracts: contracts and their milestones.

Revision ID: contracts_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "contracts_0001"
down_revision = None
branch_labels = ("contracts",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), nullable=False, index=True),
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False, index=True),
        sa.Column("freelancer_id", sa.String(36), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("client_fee_bps", sa.Integer, nullable=False),
        sa.Column("freelancer_fee_bps", sa.Integer, nullable=False),
        sa.Column("released_amount", sa.BigInteger, nullable=False),
        sa.Column("offer_expires_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False, index=True),
        sa.Column("activated_at", UTCDateTime),
        sa.Column("ended_at", UTCDateTime),
        sa.Column("end_reason", sa.String(30)),
        sa.Column("end_note", sa.Text),
    )
    op.create_table(
        "milestones",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("submission_message", sa.Text),
        sa.Column("changes_message", sa.Text),
        sa.Column("submitted_at", UTCDateTime),
        sa.Column("auto_approve_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("funded_at", UTCDateTime),
        sa.Column("released_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("milestones", "contracts"):
        op.drop_table(table)
