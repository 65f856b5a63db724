"""A service's wiring: settings, database, bus, and the unit of work that ties them together."""
from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared import context, tracing
from shared.bus import Bus, connect_bus
from shared.config import ServiceSettings, Settings
from shared.db import Database, migrate, utcnow
from shared.events import Envelope
from shared.metrics import Metrics
from shared.outbox import GRACE, OutboxRelay
from shared.service import Service
from shared.tables import OutboxRow, TimerRow
from shared.timers import TimerLoop

log = logging.getLogger(__name__)


class UnitOfWork:
    """One transaction: state changes, the events they emit and the timers they set, together."""

    def __init__(self, runtime: "Runtime", session: Session, cause: Envelope | None):
        self.runtime = runtime
        self.session = session
        self.cause = cause
        self._emitted: list[tuple[Envelope, OutboxRow]] = []
        self._after_commit: list[Callable[[], None]] = []

    @property
    def settings(self) -> ServiceSettings:
        """The service's own settings; the kit's are `runtime.settings`."""
        return self.runtime.service_settings

    @property
    def db(self) -> Database:
        return self.runtime.db

    def emit(self, type_: str, data: dict[str, Any], *, correlation_id: str | None = None) -> Envelope:
        """Write an event to the outbox; it is published only if this transaction commits."""
        producer = self.runtime.service.producer
        with tracing.creating(self.runtime.tracer, type_, producer) as span:
            envelope = Envelope.new(
                type_, data, producer=producer,
                correlation_id=correlation_id or (self.cause.correlation_id if self.cause else context.current_correlation_id()),
                causation_id=self.cause.id if self.cause else context.causation_id.get(), trace=tracing.current_context(),
            )
            span.set_attribute("messaging.message.id", envelope.id)
        row = OutboxRow(id=envelope.id, type=type_, body=envelope.to_json(),
                        created_at=utcnow(), next_attempt_at=utcnow() + GRACE, attempts=0)
        self.session.add(row)
        self._emitted.append((envelope, row))
        return envelope

    @property
    def emitted(self) -> list[Envelope]:
        """The events emitted so far whose outbox rows still stand: one emitted inside a savepoint that rolled
        back (`savepoint()` or any `session.begin_nested()`) is gone with its row, and is never published."""
        # The session expunges a row added inside a savepoint when the savepoint rolls back (it is
        # transient again); a row that stands is pending, persistent, or detached with its identity.
        return [envelope for envelope, row in self._emitted if _stands(row)]

    def schedule(self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None, *,
                 new: bool = False) -> None:
        """Set (or move) the durable timer `kind`/`key`. `new=True`: the step knows no such timer can exist
        yet (its aggregate just left the state that sets it, once), so the row is inserted without a lookup."""
        timer = None if new else self.session.scalar(self._unfired(kind, key))
        if timer is None:
            self.session.add(TimerRow(kind=kind, key=key, due_at=due_at, payload=payload or {}, attempts=0))
        else:
            timer.due_at, timer.payload, timer.attempts = due_at, payload or {}, 0

    def cancel_timer(self, kind: str, key: str) -> None:
        """Drop the timer, unless a worker is firing it right now (its handler then finds its work moot)."""
        ids = self._unfired(kind, key).with_only_columns(TimerRow.id).scalar_subquery()
        self.session.execute(sa.delete(TimerRow).where(TimerRow.id.in_(ids)))

    def _unfired(self, kind: str, key: str):
        # Locking: a firing timer's row stays locked while its handler waits for the aggregate's
        # row; waiting for the timer's row under the aggregate's lock would deadlock, so skip it.
        query = sa.select(TimerRow).where(TimerRow.kind == kind, TimerRow.key == key)
        return query if self.runtime.db.is_sqlite else query.with_for_update(skip_locked=True)

    def for_update(self, statement):
        return self.runtime.db.for_update(statement)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this transaction has committed (never if it rolls back, nor if the `savepoint()`
        it was asked for in rolls back): a side effect outside the database that needs the commit to stand."""
        self._after_commit.append(action)

    @contextmanager
    def savepoint(self) -> Iterator["UnitOfWork"]:
        """A part of this transaction that an error undoes on its own, with the events it emitted and the
        actions it asked to run after the commit."""
        actions = len(self._after_commit)
        try:
            with self.session.begin_nested():
                yield self
        except BaseException:
            del self._after_commit[actions:]
            raise

    def committed(self) -> None:
        """The transaction has committed: run what waited for it (the runtime calls this once)."""
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            try:
                action()
            except Exception:  # noqa: BLE001 - the commit stands; one action failing leaves the others
                log.exception("an action after the commit failed")


def _stands(row: OutboxRow) -> bool:
    state = sa.inspect(row)
    return not (state.transient or state.deleted or state.was_deleted)


class Runtime:
    """Everything one service needs at run time, built once per process."""

    def __init__(self, service: Service, settings: Settings, *, bus: Bus | None = None,
                 database: Database | None = None, service_settings: ServiceSettings | None = None,
                 collaborators: Mapping[str, Any] | None = None, tracer_provider: Any = None):
        """`settings` are the kit's; the service's own are read from the environment unless given
        (a bad value stops start-up here). `collaborators` replace the service's defaults by name.
        `tracer_provider`: where its spans go; by default the one the `OTEL_*` variables configure for the
        service in this process, or none (no spans) when no endpoint is set."""
        self.service = service
        self.settings = settings
        self.service_settings = service.settings.from_env(os.environ) if service_settings is None else service_settings
        self.collaborators = _collaborators(service, self.service_settings, collaborators or {})
        self.db = database or Database(settings.database_url(service.name), pool_size=settings.db_pool_size,
                                       max_overflow=settings.db_max_overflow)
        self.tracer_provider = tracer_provider or tracing.provider_for(service.name)
        self.tracer = tracing.tracer(self.tracer_provider)
        if self.tracer_provider is not None:
            for engine in self.db.engines:
                tracing.instrument_engine(engine, self.tracer)
        self.metrics = Metrics.for_service(service.name, service.gauges)
        self._gauges_due: dict[str, float] = {}  # when a gauge read at most `every` may be read again
        self.bus = bus or connect_bus(settings)
        self.relay = OutboxRelay(self)

    def migrate(self) -> None:
        migrate(self.db, self.service.migrations)

    @contextmanager
    def unit_of_work(self, cause: Envelope | None = None, *, readonly: bool = False) -> Iterator[UnitOfWork]:
        """`readonly=True`: a unit of work that only reads (`Database.reading()`: no write lock on SQLite)."""
        with self.db.transaction(readonly=readonly) as session:
            uow = UnitOfWork(self, session, cause)
            yield uow
        if uow.emitted:
            self.relay.publish_now(uow.emitted)
        uow.committed()

    def refresh_gauges(self) -> None:
        """Outbox backlog, due timers and the service's own gauges, read from the database (they keep
        their value if it is down)."""
        try:
            self.metrics.outbox_backlog.set(self.relay.backlog())
            self.metrics.timers_due.set(TimerLoop(self, {}).due_count())
        except Exception:  # noqa: BLE001 - metrics must not fail because the database does
            log.debug("could not refresh gauges", exc_info=True)
        for gauge in self.service.gauges:
            if time.monotonic() < self._gauges_due.get(gauge.name, 0.0):
                continue
            try:
                metric = self.metrics.service_gauges[gauge.name]
                for labels, value in gauge.read(self).items():
                    metric.labels(*labels).set(value)
                if gauge.every is not None:
                    self._gauges_due[gauge.name] = time.monotonic() + gauge.every(self.service_settings).total_seconds()
            except Exception:  # noqa: BLE001 - one gauge failing leaves the others
                log.debug("could not refresh gauge %s", gauge.name, exc_info=True)

    def close(self) -> None:
        self.relay.flush_marks()
        self.bus.close()
        self.db.dispose()
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush()


def _collaborators(service: Service, settings: ServiceSettings, overrides: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(overrides) - set(service.collaborators)
    if unknown:
        raise ValueError(f"{service.name} has no collaborator {', '.join(sorted(unknown))}; "
                         f"it declares {', '.join(sorted(service.collaborators)) or 'none'}")
    return {name: overrides[name] if name in overrides else make(settings)
            for name, make in service.collaborators.items()}

