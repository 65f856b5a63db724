"""jobs: hourly proposals carry a `rate` (cents an hour) and no `amount`.

Revision ID: jobs_0003
Revises: jobs_0002
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "jobs_0003"
down_revision = "jobs_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proposals") as table:
        table.add_column(sa.Column("rate", sa.BigInteger))
        table.alter_column("amount", existing_type=sa.BigInteger, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM proposals WHERE amount IS NULL")
    with op.batch_alter_table("proposals") as table:
        table.alter_column("amount", existing_type=sa.BigInteger, nullable=False)
        table.drop_column("rate")
