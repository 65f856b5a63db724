"""payments: timer kinds named <service>.<aggregate>.<effect>; payout holds already set keep ending.

Revision ID: payments_0002
Revises: payments_0001
Create Date: 2026-12-02
"""
from alembic import op

from shared.tables import rename_timer_kinds

revision = "payments_0002"
down_revision = "payments_0001"
branch_labels = None
depends_on = ("kit_0001",)  # the timers table is the kit's

RENAMED = {"payments.hold_end": "payments.escrow.end_hold"}


def upgrade() -> None:
    rename_timer_kinds(op.execute, RENAMED)


def downgrade() -> None:
    rename_timer_kinds(op.execute, {new: old for old, new in RENAMED.items()})
