"""The embedded bus keeps its retries in a table of its own, no longer among the service's timers.

Revision ID: kit_0002
Revises: kit_0001
Create Date: 2026-12-02
"""
import json

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "kit_0002"
down_revision = "kit_0001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")
OLD_KIND = "bus.retry"


def upgrade() -> None:
    retries = op.create_table(
        "bus_retries",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(100)),
        sa.Column("type", sa.String(100)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("due_at", UTCDateTime, nullable=False, index=True),
    )
    # Durability: a retry pending when the service stopped before this upgrade is carried out after it.
    timers = sa.table("timers", sa.column("id", BIGINT), sa.column("kind", sa.String), sa.column("key", sa.String),
                      sa.column("due_at", UTCDateTime), sa.column("payload", sa.JSON))
    connection = op.get_bind()
    moved = connection.execute(sa.select(timers).where(timers.c.kind == OLD_KIND)).all()
    rows = []
    for timer in moved:
        payload = timer.payload or {}
        body = payload["body"] if isinstance(payload.get("body"), str) else json.dumps(payload.get("body"))
        try:
            type_ = json.loads(body).get("type")
        except (TypeError, ValueError, AttributeError):
            type_ = None
        message_id = None if timer.key.startswith("replay:") else timer.key.rsplit(":", 1)[0]
        rows.append({"message_id": message_id, "type": type_, "body": body, "retries": int(payload.get("retries", 0)),
                     "error": payload.get("error"), "due_at": timer.due_at})
    if rows:
        op.bulk_insert(retries, rows)
        connection.execute(sa.delete(timers).where(timers.c.kind == OLD_KIND))


def downgrade() -> None:
    op.drop_table("bus_retries")
