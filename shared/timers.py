"""Durable timers: rows in the service's database, fired by its worker, once in effect."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlalchemy as sa

from shared.context import Cause, caused_by, correlated
from shared.db import utcnow
from shared.tables import TimerRow

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(seconds=60)


@dataclass(frozen=True)
class Timer:
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]
    id: int | None = None


class TimerLoop:
    """Fires due timers, each in the same transaction as its handler's effect and its own deletion."""

    def __init__(self, runtime, handlers: dict[str, Callable]):
        self.runtime = runtime
        self.handlers = handlers

    def fire_due(self, limit: int = 200) -> int:
        fired = 0
        while fired < limit and self._fire_one():
            fired += 1
        return fired

    def due_count(self) -> int:
        with self.runtime.db.transaction() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(TimerRow).where(TimerRow.due_at <= utcnow()))

    def _next_due(self):
        query = sa.select(TimerRow).where(TimerRow.due_at <= utcnow()).order_by(TimerRow.due_at, TimerRow.id).limit(1)
        return query if self.runtime.db.is_sqlite else query.with_for_update(skip_locked=True)

    def _fire_one(self) -> bool:
        timer_id = None
        try:
            with self.runtime.unit_of_work() as uow:
                row = uow.session.scalars(self._next_due()).first()
                if row is None:
                    return False
                timer_id, timer = row.id, Timer(row.kind, row.key, row.due_at, dict(row.payload or {}), row.id)
                uow.session.delete(row)
                uow.session.flush()
                self._run(timer, uow)
                return True
        except Exception as error:  # noqa: BLE001 - the timer stays and is tried again later
            if timer_id is None:
                log.warning("timers: could not read due timers: %r", error)
                return False
            log.warning("timer %s failed: %r", timer_id, error, exc_info=True)
            return self._back_off(timer_id, error)

    def _run(self, timer: Timer, uow) -> None:
        handler = self.handlers.get(timer.kind)
        if handler is None:
            log.error("timer kind %r has no handler; dropped", timer.kind)
            return
        with correlated(timer.payload.get("correlation_id"), f"timer:{timer.kind}:{timer.key}"), \
                caused_by(Cause("timer", str(timer.id), timer.kind)):
            handler(timer, uow)
        self.runtime.metrics.timers_fired.labels(timer.kind).inc()

    def _back_off(self, timer_id: int, error: Exception) -> bool:
        try:
            with self.runtime.db.transaction() as session:
                row = session.get(TimerRow, timer_id)
                if row is not None:
                    row.attempts += 1
                    row.last_error = repr(error)[:2000]
                    row.due_at = utcnow() + min(MAX_BACKOFF, timedelta(seconds=0.5 * 2 ** min(row.attempts, 8)))
            return True
        except Exception:  # noqa: BLE001 - the database itself is in trouble; try next round
            return False
