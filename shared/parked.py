"""Deliveries a bus without a broker keeps for a consumer: retries due later and dead letters.

They live in the consuming service's own database (`bus_retries`, `dead_letters`), so a delivery
kept here is as safe as the service's own data: the embedded bus settles a delivery only once it was
handled or kept here. RabbitMQ keeps the same things in its queues and never uses this.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shared.consumer import Outcome, Result
from shared.db import Database, utcnow
from shared.tables import DeadLetterRow, RetryRow


@dataclass(frozen=True)
class Retry:
    """A delivery whose retry is due: hand `body` to the handler again with `retries`."""

    id: int
    body: str
    retries: int


@dataclass(frozen=True)
class Dead:
    """A dead letter as the operators' `dlq` commands show it."""

    id: int
    message_id: str | None
    type: str | None
    body: str
    error: str
    retries: int
    dead_at: datetime


class ParkedMessages:
    """The retries and dead letters of one consuming service, in its database.

    `poll`: how often the bus looks for retries that came due."""

    def __init__(self, database: Database, *, poll: timedelta = timedelta(milliseconds=200)):
        self.db = database
        self.poll = poll

    def keep(self, body: str, result: Result, *, instead_of: Retry | None = None) -> None:
        """Keep what the result asks for (a retry after its delay, or a dead letter), in one transaction
        with dropping the retry `instead_of` that was just carried out; a settled result keeps nothing."""
        if instead_of is None and result.outcome not in (Outcome.RETRY, Outcome.DEAD):
            return
        with self.db.transaction() as session:
            if instead_of is not None:
                session.execute(sa.delete(RetryRow).where(RetryRow.id == instead_of.id))
            if result.outcome is Outcome.RETRY:
                session.add(RetryRow(message_id=result.message_id, type=result.type, body=body,
                                     retries=result.retries, error=result.error,
                                     due_at=utcnow() + (result.delay or timedelta(0))))
            elif result.outcome is Outcome.DEAD:
                session.add(DeadLetterRow(message_id=result.message_id, type=result.type, body=body,
                                          error=result.error or "unknown", retries=result.retries,
                                          created_at=datetime.now(timezone.utc)))

    def next_due(self) -> Retry | None:
        """The retry due first, if any is due now; it stays kept until `keep(…, instead_of=it)`.

        Ordering: a crash before that carries it out again; the consumer's inbox absorbs the repeat."""
        query = sa.select(RetryRow).where(RetryRow.due_at <= utcnow()).order_by(RetryRow.due_at, RetryRow.id).limit(1)
        with self.db.transaction() as session:
            row = session.scalars(query).first()
            return None if row is None else Retry(row.id, row.body, row.retries)

    # Dead letters, for the operators --------------------------------------------------------

    def dead(self, limit: int = 1000) -> list[Dead]:
        with self.db.transaction() as session:
            rows = session.scalars(sa.select(DeadLetterRow).order_by(DeadLetterRow.id).limit(limit))
            return [Dead(row.id, row.message_id, row.type, row.body, row.error, row.retries, row.created_at)
                    for row in rows]

    def replay(self, message_ids: set[str] | None, limit: int = 100000) -> int:
        """Move dead letters back to the consumer as retries due now, with their count of retries reset;
        `message_ids` picks some (a letter without one is picked by its row id), None takes all."""
        with self.db.transaction() as session:
            rows = list(session.scalars(sa.select(DeadLetterRow).order_by(DeadLetterRow.id).limit(limit)))
            rows = [row for row in rows if message_ids is None or (row.message_id or str(row.id)) in message_ids]
            for row in rows:
                session.add(RetryRow(message_id=row.message_id, type=row.type, body=row.body, retries=0,
                                     error=None, due_at=utcnow()))
                session.delete(row)
            return len(rows)

    def purge(self) -> int:
        with self.db.transaction() as session:
            return session.execute(sa.delete(DeadLetterRow)).rowcount  # type: ignore[attr-defined]  # a CursorResult
