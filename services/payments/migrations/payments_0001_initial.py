"""payments: accounts, journal entries, postings, contract parties, escrows, deposits, payouts.

Revision ID: payments_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "payments_0001"
down_revision = None
branch_labels = ("payments",)
depends_on = None

ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("owner_id", ID, index=True),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("balance >= 0 OR name LIKE 'world:%'", name="ck_accounts_not_negative"),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", ID, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("reference", ID, nullable=False, index=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "postings",
        sa.Column("id", ID, primary_key=True),
        sa.Column("entry_id", ID, sa.ForeignKey("journal_entries.id"), nullable=False, index=True),
        sa.Column("transfer", sa.SmallInteger, nullable=False),
        sa.Column("account", sa.String(100), sa.ForeignKey("accounts.name"), nullable=False, index=True),
        sa.Column("owner_id", ID),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("reference", ID, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("amount <> 0", name="ck_postings_not_zero"),
    )
    op.create_index("ix_postings_owner_created", "postings", ["owner_id", "created_at", "id"])
    op.create_table(
        "contract_parties",
        sa.Column("contract_id", ID, primary_key=True),
        sa.Column("client_id", ID, nullable=False, index=True),
        sa.Column("freelancer_id", ID, nullable=False, index=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "escrows",
        sa.Column("milestone_id", ID, primary_key=True),
        sa.Column("contract_id", ID, nullable=False, index=True),
        sa.Column("client_id", ID, nullable=False, index=True),
        sa.Column("freelancer_id", ID),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("client_fee", sa.BigInteger, nullable=False),
        sa.Column("freelancer_fee", sa.BigInteger),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("available_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("settled_at", UTCDateTime),
    )
    op.create_table(
        "deposits",
        sa.Column("id", ID, primary_key=True),
        sa.Column("user_id", ID, nullable=False, index=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failure_reason", sa.String(100)),
        sa.Column("card_last4", sa.String(4), nullable=False),
        sa.Column("processor_reference", sa.String(100)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "payouts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("user_id", ID, nullable=False, index=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("account_number", sa.String(34), nullable=False),
        sa.Column("routing_number", sa.String(9), nullable=False),
        sa.Column("failure_reason", sa.String(100)),
        sa.Column("bank_reference", sa.String(100)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("settled_at", UTCDateTime),
    )


def downgrade() -> None:
    for table in ("payouts", "deposits", "escrows", "contract_parties", "postings", "journal_entries", "accounts"):
        op.drop_table(table)
