"""The relay: publishes outbox rows after commit and sweeps whatever is left behind."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import sqlalchemy as sa

from shared import tracing
from shared.db import utcnow
from shared.events import Envelope
from shared.tables import OutboxRow

log = logging.getLogger(__name__)

BATCH = 100
MAX_BACKOFF = timedelta(seconds=30)
# A new row is the committing process's to publish for this long before the sweep (perhaps in
# another process) may take it; publishing it twice would be harmless, but wasted work.
GRACE = timedelta(seconds=2)
# Rows published right after commit are marked sent together, at most this much later.
MARK_EVERY = timedelta(milliseconds=50)


class OutboxRelay:
    """Marks a row sent only once the bus has it (RabbitMQ's confirm, or every embedded consumer)."""

    def __init__(self, runtime):
        self.runtime = runtime
        self._in_flight: set[str] = set()
        self._unmarked: list[Envelope] = []
        self._marker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one flush of the marks at a time

    def publish_now(self, envelopes: list[Envelope]) -> None:
        """Right after commit, from memory: no read of the outbox, no write on the caller's thread once the
        broker has confirmed; any failure is left for the sweep."""
        envelopes = [envelope for envelope in envelopes if self._claim(envelope.id)]
        if not envelopes:
            return
        try:
            settled_now = self._publish(envelopes)
        except Exception as error:  # noqa: BLE001 - the sweep retries; the request that committed must not fail
            self._release([envelope.id for envelope in envelopes])
            log.warning("outbox: immediate publish failed; the sweep will retry", exc_info=True)
            self._record_failure([envelope.id for envelope in envelopes], error)
            return
        if settled_now:
            self._mark_soon(settled_now)

    def _publish(self, envelopes: list[Envelope]) -> list[Envelope]:
        with tracing.sending(self.runtime.tracer, envelopes, self.runtime.settings.exchange):
            return self.runtime.bus.publish(envelopes, settled=self._mark_sent, unsettled=self._unsettled)

    def _mark_soon(self, envelopes: list[Envelope]) -> None:
        """Off the caller's thread, with whatever else was published meanwhile: one UPDATE for many rows."""
        with self._lock:
            self._unmarked.extend(envelopes)
            if self._marker is None:
                self._marker = threading.Thread(target=self._mark_forever, name="outbox-marks", daemon=True)
                self._marker.start()

    def _mark_forever(self) -> None:
        while True:
            time.sleep(MARK_EVERY.total_seconds())
            self.flush_marks()

    def flush_marks(self) -> None:
        """Mark what was published; a mark lost (to a crash, say) only means the sweep publishes it again.
        Once it returns, everything published before the call is marked, by it or by a flush that was
        under way in the marker thread (it waits for that one)."""
        with self._flushing:
            with self._lock:
                batch, self._unmarked = self._unmarked, []
            if not batch:
                return
            try:
                self._mark_sent(batch)
            except Exception:  # noqa: BLE001 - unmarked means published again by the sweep: a duplicate, not a loss
                self._release([envelope.id for envelope in batch])
                log.warning("outbox: could not mark %d event(s) sent", len(batch), exc_info=True)

    def sweep(self) -> int:
        """Publish every due unsent row, a batch at a time; returns how many were handed to the bus."""
        db = self.runtime.db
        query = (sa.select(OutboxRow)
                 .where(OutboxRow.sent_at.is_(None), OutboxRow.next_attempt_at <= utcnow())
                 .order_by(OutboxRow.created_at).limit(BATCH))
        with db.transaction(durable=False) as session:
            if not db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = [row for row in session.scalars(query) if self._claim(row.id)]
            if not rows:
                return 0
            envelopes = [Envelope.from_json(row.body) for row in rows]
            try:
                settled_now = self._publish(envelopes)
            except Exception as error:
                self._release([row.id for row in rows])
                for row in rows:
                    row.attempts += 1
                    row.last_error = repr(error)[:2000]
                    row.next_attempt_at = utcnow() + backoff(row.attempts)
                log.warning("outbox: publishing %d event(s) failed: %r", len(rows), error)
                return 0
            # Only what the bus settled now is sent; the rest is marked by `_mark_sent` once settled.
            settled_ids = {envelope.id for envelope in settled_now or ()}
            for row in rows:
                if row.id in settled_ids:
                    row.sent_at = utcnow()
        if settled_ids:
            self._release(settled_ids)
            self._count([envelope for envelope in envelopes if envelope.id in settled_ids])
        return len(rows)

    def backlog(self) -> int:
        with self.runtime.db.transaction() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(OutboxRow).where(OutboxRow.sent_at.is_(None)))

    def _record_failure(self, ids: list[str], error: Exception) -> None:
        try:
            with self.runtime.db.transaction(durable=False) as session:
                session.execute(sa.update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.sent_at.is_(None)).values(
                    attempts=OutboxRow.attempts + 1, last_error=repr(error)[:2000], next_attempt_at=utcnow() + backoff(1)))
        except Exception:  # noqa: BLE001 - the row keeps its grace; the sweep takes it then
            log.debug("outbox: could not record the failed publish", exc_info=True)

    def _claim(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._in_flight:
                return False
            self._in_flight.add(event_id)
            return True

    def _release(self, ids) -> None:
        with self._lock:
            self._in_flight.difference_update(ids)

    def _mark_sent(self, envelopes: list[Envelope]) -> None:
        """Once the bus has them: also called later by a bus that settles later (the embedded one)."""
        ids = [envelope.id for envelope in envelopes]
        with self.runtime.db.transaction(durable=False) as session:
            session.execute(sa.update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.sent_at.is_(None))
                            .values(sent_at=utcnow()))
        self._release(ids)
        self._count(envelopes)

    def _unsettled(self, envelopes: list[Envelope], reason: str) -> None:
        """A bus that settles later gave them back (a subscriber could not settle one): the sweep sends them
        again after the grace, without a restart; the subscribers' inboxes absorb the repeats."""
        ids = [envelope.id for envelope in envelopes]
        try:
            with self.runtime.db.transaction(durable=False) as session:
                session.execute(sa.update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.sent_at.is_(None)).values(
                    attempts=OutboxRow.attempts + 1, last_error=reason[:2000], next_attempt_at=utcnow() + GRACE))
        finally:
            # Released even if that failed: the row then keeps the time it had, which is due already.
            self._release(ids)

    def _count(self, envelopes: list[Envelope]) -> None:
        for envelope in envelopes:
            self.runtime.metrics.events_published.labels(envelope.type).inc()


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=0.5 * 2 ** min(attempts, 8)))
