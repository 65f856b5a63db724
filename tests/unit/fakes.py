"""An in-memory unit of work: a real session on an in-memory SQLite database, and a record of the effects.

Domain functions take a unit of work and use only its surface: `session`, `emit`, `schedule`,
`cancel_timer`, `for_update`, `settings`, `db` and `runtime`. This one keeps what they emitted,
scheduled and cancelled in lists instead of writing an outbox and timer rows, so a test asserts on
the effects themselves. No broker, no server, no file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy import MetaData

from shared.db import Database
from shared.events import Envelope
from shared.ids import new_id  # noqa: F401 - the stories take new_id from here
from shared.service import Service
from shared.suspensions import SuspendedAccountRow
from shared.timers import Timer


@dataclass
class FakeRuntime:
    """What domain code reads from `uow.runtime`: the service, its database, the kit's settings, collaborators."""

    service: Service
    db: Database
    settings: Any = None
    collaborators: Mapping[str, Any] = field(default_factory=dict)


class FakeUnitOfWork:
    """One story's transaction: effects are recorded, never sent; events are checked against their schemas."""

    def __init__(self, runtime: FakeRuntime, session, settings: Any):
        self.runtime = runtime
        self.session = session
        self.settings = settings
        self.emitted: list[Envelope] = []
        self.scheduled: list[Timer] = []
        self.cancelled: list[tuple[str, str]] = []
        self.timers: dict[tuple[str, str], Timer] = {}
        self.after_commits: list[Callable[[], None]] = []

    @property
    def db(self) -> Database:
        return self.runtime.db

    def emit(self, type_: str, data: dict[str, Any], *, correlation_id: str | None = None) -> Envelope:
        envelope = Envelope.new(type_, data, producer=self.runtime.service.name,
                                correlation_id=correlation_id or new_id())
        self.emitted.append(envelope)
        return envelope

    def schedule(self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None,
                 *, new: bool = False) -> None:
        timer = Timer(kind, key, due_at, dict(payload or {}))
        self.scheduled.append(timer)
        self.timers[(kind, key)] = timer

    def cancel_timer(self, kind: str, key: str) -> None:
        self.cancelled.append((kind, key))
        self.timers.pop((kind, key), None)

    def for_update(self, statement):
        return self.runtime.db.for_update(statement)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Recorded, never run: the story's transaction never commits."""
        self.after_commits.append(action)

    def types(self) -> list[str]:
        """The types of the events emitted, in order."""
        return [envelope.type for envelope in self.emitted]

    def events(self, type_: str) -> list[Envelope]:
        return [envelope for envelope in self.emitted if envelope.type == type_]

    def event(self, type_: str) -> dict[str, Any]:
        """The data of the one event of this type (emitted exactly once)."""
        found = self.events(type_)
        assert len(found) == 1, f"{type_} emitted {len(found)} times: {self.types()}"
        return found[0].data

    def timer(self, kind: str, key: str) -> Timer | None:
        """The timer `kind`/`key` as it stands (None when never set or cancelled)."""
        return self.timers.get((kind, key))

    def fire(self, kind: str, key: str, handlers: Mapping[str, Callable]) -> None:
        """Fire a set timer through the service's timer handlers, as the worker would."""
        timer = self.timers.pop((kind, key))
        handlers[kind](timer, self)

    def forget(self) -> None:
        """Start the next step with empty records (the database keeps its rows)."""
        self.emitted.clear()
        self.scheduled.clear()
        self.cancelled.clear()



def delivered(type_: str, data: dict[str, Any]) -> Envelope:
    """An event as a handler receives it from another service, its data checked against its schema."""
    return Envelope.new(type_, data, producer="test", correlation_id=new_id())


class InMemoryDatabases:
    """A new SQLite database in memory per test with a service's tables (from its models, not its migrations).

    The tables are made once per service in a template and copied into each new database; each
    service keeps one engine for the whole run, since SQLAlchemy keeps compiled statements per engine.
    """

    def __init__(self):
        self._made: dict[tuple, tuple[Database, Database]] = {}

    def fresh(self, metadata: MetaData, ddl: Iterable[str] = ()) -> Database:
        key = (metadata, tuple(ddl))
        if key not in self._made:
            template = Database("sqlite://")
            metadata.create_all(template.engine)
            # The kit's table every rule may read (which accounts are suspended), beside the service's.
            SuspendedAccountRow.__table__.create(template.engine)
            with template.engine.begin() as connection:
                for statement in key[1]:
                    connection.execute(sa.text(statement))
            self._made[key] = (template, Database("sqlite://"))
        template, database = self._made[key]
        database.dispose()  # an in-memory database ends with its connection; the next one starts empty
        source, target = template.engine.raw_connection(), database.engine.raw_connection()
        try:
            source.driver_connection.backup(target.driver_connection)
        finally:
            target.close()
            source.close()
        return database

    def close(self) -> None:
        for template, database in self._made.values():
            template.dispose()
            database.dispose()
