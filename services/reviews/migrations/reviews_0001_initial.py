"""reviews: review windows of ended contracts and the reviews written in them.

Revision ID: reviews_0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "reviews_0001"
down_revision = None
branch_labels = ("reviews",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_windows",
        sa.Column("contract_id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("freelancer_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("closes_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("contract_id", sa.String(36),
                  sa.ForeignKey("review_windows.contract_id", ondelete="CASCADE"), nullable=False),
        sa.Column("reviewer_id", sa.String(36), nullable=False),
        sa.Column("reviewee_id", sa.String(36), nullable=False),
        sa.Column("rating", sa.SmallInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime),
        sa.UniqueConstraint("contract_id", "reviewer_id", name="uq_reviews_contract_reviewer"),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_reviews_rating"),
    )
    op.create_index("ix_reviews_reviewee_published", "reviews", ["reviewee_id", "status", "created_at"])


def downgrade() -> None:
    op.drop_table("reviews")
    op.drop_table("review_windows")
