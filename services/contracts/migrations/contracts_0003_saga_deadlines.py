"""contracts: when each in-flight request was sent and how often it was sent again (saga deadlines).

Steps already in flight count from the migration, and their re-send is armed to fire at once:
their answer may have been lost long ago.

Revision ID: contracts_0003
Revises: contracts_0002
Create Date: 2026-12-02
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "contracts_0003"
down_revision = "contracts_0002"
branch_labels = None
depends_on = ("kit_0001",)  # the timers table is the kit's

# Plain tables, not the models, so the step keeps working whatever later revisions add.
milestones = sa.table("milestones", sa.column("id"), sa.column("contract_id"), sa.column("status"),
                      sa.column("requested_at", UTCDateTime))
contracts = sa.table("contracts", sa.column("id"), sa.column("status"), sa.column("cancelling_at", UTCDateTime))
timers = sa.table("timers", sa.column("kind"), sa.column("key"), sa.column("due_at", UTCDateTime),
                  sa.column("payload", sa.JSON), sa.column("attempts"))


def upgrade() -> None:
    with op.batch_alter_table("milestones") as table:
        table.add_column(sa.Column("requested_at", UTCDateTime))
        table.add_column(sa.Column("resends", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_milestones_status", "milestones", ["status"])
    with op.batch_alter_table("contracts") as table:
        table.add_column(sa.Column("cancelling_at", UTCDateTime))
        table.add_column(sa.Column("resends", sa.Integer, nullable=False, server_default="0"))
    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    in_flight = bind.execute(sa.select(milestones.c.id, milestones.c.contract_id)
                             .where(milestones.c.status.in_(("funding", "approved", "refunding")))).all()
    cancelling = bind.execute(sa.select(contracts.c.id).where(contracts.c.status == "cancelling")).scalars().all()
    bind.execute(sa.update(milestones).where(milestones.c.id.in_([row.id for row in in_flight]))
                 .values(requested_at=now))
    bind.execute(sa.update(contracts).where(contracts.c.id.in_(cancelling)).values(cancelling_at=now))
    armed = [{"kind": "contracts.milestone.resend_request", "key": row.id, "due_at": now, "attempts": 0,
              "payload": {"contract_id": row.contract_id, "correlation_id": row.contract_id}} for row in in_flight]
    armed += [{"kind": "contracts.contract.resend_cancellation", "key": contract_id, "due_at": now, "attempts": 0,
               "payload": {"contract_id": contract_id, "correlation_id": contract_id}} for contract_id in cancelling]
    if armed:
        bind.execute(sa.insert(timers), armed)


def downgrade() -> None:
    op.execute(sa.delete(timers).where(timers.c.kind.in_(("contracts.milestone.resend_request",
                                                           "contracts.contract.resend_cancellation"))))
    with op.batch_alter_table("contracts") as table:
        table.drop_column("resends")
        table.drop_column("cancelling_at")
    op.drop_index("ix_milestones_status", "milestones")
    with op.batch_alter_table("milestones") as table:
        table.drop_column("resends")
        table.drop_column("requested_at")
