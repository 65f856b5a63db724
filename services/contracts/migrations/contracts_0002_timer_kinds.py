"""contracts: timer kinds named <service>.<aggregate>.<effect>; timers already set keep firing.

Revision ID: contracts_0002
Revises: contracts_0001
Create Date: 2026-12-02
"""
from alembic import op

from shared.tables import rename_timer_kinds

revision = "contracts_0002"
down_revision = "contracts_0001"
branch_labels = None
depends_on = ("kit_0001",)  # the timers table is the kit's

RENAMED = {
    "offer-expiry": "contracts.offer.expire",
    "auto-approve": "contracts.milestone.auto_approve",
    "settle-cancellation": "contracts.contract.settle_cancellation",
}


def upgrade() -> None:
    rename_timer_kinds(op.execute, RENAMED)


def downgrade() -> None:
    rename_timer_kinds(op.execute, {new: old for old, new in RENAMED.items()})
