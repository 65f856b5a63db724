"""payments: what each escrow's settling step did (splits), and the outcome of each bonus.

Settled escrows get their shares from what they were: a release all to the freelancer, a refund all
and its client fee back. Its timer kind payments.bonus.end_hold is new, so none is set yet.

Revision ID: payments_0004
Revises: payments_0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "payments_0004"
down_revision = "payments_0003"
branch_labels = None
depends_on = ("kit_0001",)  # the timers table is the kit's

escrows = sa.table("escrows", sa.column("status"), sa.column("amount"), sa.column("client_fee"),
                   sa.column("freelancer_amount"), sa.column("refund_amount"), sa.column("client_fee_refund"))


def upgrade() -> None:
    with op.batch_alter_table("escrows") as table:
        for column in ("freelancer_amount", "refund_amount", "client_fee_refund"):
            table.add_column(sa.Column(column, sa.BigInteger, nullable=False, server_default="0"))
    op.execute(sa.update(escrows).where(escrows.c.status == "released").values(freelancer_amount=escrows.c.amount))
    op.execute(sa.update(escrows).where(escrows.c.status == "refunded")
               .values(refund_amount=escrows.c.amount, client_fee_refund=escrows.c.client_fee))
    op.create_table(
        "bonus_payments",
        sa.Column("bonus_id", sa.String(36), primary_key=True),
        sa.Column("contract_id", sa.String(36), nullable=False, index=True),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("freelancer_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("client_fee", sa.BigInteger, nullable=False),
        sa.Column("freelancer_fee", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failure_reason", sa.String(100)),
        sa.Column("available_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    timers = sa.table("timers", sa.column("kind"))
    op.execute(sa.delete(timers).where(timers.c.kind == "payments.bonus.end_hold"))
    op.drop_table("bonus_payments")
    with op.batch_alter_table("escrows") as table:
        for column in ("client_fee_refund", "refund_amount", "freelancer_amount"):
            table.drop_column(column)
