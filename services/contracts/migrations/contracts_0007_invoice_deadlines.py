"""contracts: when each invoice's request to payments was sent and how often it was sent again, as a
milestone's (contracts_0003), so `sagas_stuck` and `marketplace sagas stuck` count invoices too.

Invoices already waiting for payments count from the migration: their re-send timers are armed already.

Revision ID: contracts_0007
Revises: contracts_0006
Create Date: 2026-12-03
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "contracts_0007"
down_revision = "contracts_0006"
branch_labels = None
depends_on = None

# A plain table, not the model, so the step keeps working whatever later revisions add.
invoices = sa.table("invoices", sa.column("status"), sa.column("requested_at", UTCDateTime))
WAITING = ("pending_payment", "releasing", "resolving")


def upgrade() -> None:
    with op.batch_alter_table("invoices") as table:
        table.add_column(sa.Column("requested_at", UTCDateTime))
        table.add_column(sa.Column("resends", sa.Integer, nullable=False, server_default="0"))
    op.get_bind().execute(sa.update(invoices).where(invoices.c.status.in_(WAITING))
                          .values(requested_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as table:
        table.drop_column("resends")
        table.drop_column("requested_at")
