"""users: accounts, roles, skills, failed logins.

Revision ID: users_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "users_0001"
down_revision = None
branch_labels = ("users",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("suspended_reason", sa.Text),
        sa.Column("title", sa.String(200)),
        sa.Column("bio", sa.Text),
        sa.Column("hourly_rate", sa.BigInteger),
        sa.Column("created_at", UTCDateTime, nullable=False, index=True),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(20), primary_key=True, index=True),
    )
    op.create_table(
        "user_skills",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("skill_key", sa.String(50), primary_key=True, index=True),
        sa.Column("skill", sa.String(50), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("email_key", sa.String(320), nullable=False, index=True),
        sa.Column("at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("login_failures", "user_skills", "user_roles", "users"):
        op.drop_table(table)
