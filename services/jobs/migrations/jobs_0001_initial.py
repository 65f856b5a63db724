"""jobs: postings, their skills, proposals, suspended users, the full-text index.

Revision ID: jobs_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from services.jobs import fulltext
from shared.db import UTCDateTime

revision = "jobs_0001"
down_revision = None
branch_labels = ("jobs",)
depends_on = None

LIVE = sa.text("status IN ('submitted', 'offer_pending', 'hired')")
HIRING = sa.text("status IN ('offer_pending', 'hired')")


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("budget_type", sa.String(10), nullable=False),
        sa.Column("budget_amount", sa.BigInteger),
        sa.Column("hourly_rate_max", sa.BigInteger),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("proposals_count", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_jobs_status_created", "jobs", ["status", "created_at", "id"])
    op.create_index("ix_jobs_client_created", "jobs", ["client_id", "created_at"])
    op.create_table(
        "job_skills",
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("skill_key", sa.String(50), primary_key=True, index=True),
        sa.Column("skill", sa.String(50), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "proposals",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("freelancer_id", sa.String(36), nullable=False, index=True),
        sa.Column("cover_letter", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("estimated_days", sa.Integer),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("contract_id", sa.String(36), index=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_proposals_job_created", "proposals", ["job_id", "created_at"])
    op.create_index("uq_proposals_live", "proposals", ["job_id", "freelancer_id"], unique=True,
                    postgresql_where=LIVE, sqlite_where=LIVE)
    op.create_index("uq_proposals_hiring", "proposals", ["job_id"], unique=True,
                    postgresql_where=HIRING, sqlite_where=HIRING)
    op.create_table(
        "suspended_users",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("suspended_at", UTCDateTime, nullable=False),
    )
    # Search: the FTS5 table is keyed by the jobs table's rowid; a later migration that
    # rebuilds `jobs` (SQLite batch mode) must rebuild jobs_fts with it.
    for statement in fulltext.SQLITE_DDL if _sqlite() else fulltext.POSTGRES_DDL:
        op.execute(statement)


def downgrade() -> None:
    for statement in fulltext.SQLITE_DROP if _sqlite() else fulltext.POSTGRES_DROP:
        op.execute(statement)
    for table in ("suspended_users", "proposals", "job_skills", "jobs"):
        op.drop_table(table)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
