"""What the kit's tests build from: toy services, a toy effect table, a look at the broker, waiting."""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pika
import sqlalchemy as sa
from kombu.utils.url import parse_url
from marshmallow import Schema, fields, validate

from shared.config import Settings
from shared.db import Database, KitBase
from shared.events.fields import Day, Id, Timestamp
from shared.ids import new_id
from shared.runtime import Runtime
from shared.service import Service
from shared.tables import DeadLetterRow, InboxRow, OutboxRow, RetryRow, TimerRow
from shared.worker import Worker
from tests.infra import unique
from tests.support import service_queues  # noqa: F401 - the kit's tests take it from here

REGISTERED = "users.user.registered"
SUSPENDED = "users.user.suspended"


# Event data ------------------------------------------------------------------------------

def registered(**overrides) -> dict[str, Any]:
    return {"user_id": new_id(), "email": f"{uuid.uuid4().hex[:8]}@example.com", "name": "Ada",
            "roles": ["client"], **overrides}


def suspended(**overrides) -> dict[str, Any]:
    return {"user_id": new_id(), "reason": "chargebacks", **overrides}


def sample_value(name: str, field_: fields.Field) -> Any:
    """A valid value for one schema field (the first choice where the field has a fixed set)."""
    if isinstance(field_, fields.Nested):
        return sample_data(field_.schema)
    if isinstance(field_, fields.List):
        return [sample_value(name, field_.inner)]
    for validator in field_.validators:
        if isinstance(validator, validate.OneOf):
            return list(validator.choices)[0]
    if isinstance(field_, Id):
        return new_id()
    if isinstance(field_, Timestamp):
        return datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    if isinstance(field_, Day):
        return date(2026, 3, 4)
    if isinstance(field_, fields.Boolean):
        return True
    if isinstance(field_, fields.Integer):
        ranges = [v for v in field_.validators if isinstance(v, validate.Range)]
        return 1234 if all((r.min is None or r.min <= 1234) and (r.max is None or 1234 <= r.max)
                           for r in ranges) else max(r.min for r in ranges if r.min is not None)
    if isinstance(field_, fields.String):
        return f"sample {name}"
    raise AssertionError(f"no sample value for field {name!r} ({type(field_).__name__}); teach sample_value about it")


def sample_data(schema: Schema) -> dict[str, Any]:
    """Every field of `schema`, required or not, with a valid value."""
    return {name: sample_value(name, field_) for name, field_ in schema.fields.items()}


# A toy effect: a row per handled event or fired timer, with no constraint that would hide a second one.

EFFECTS_METADATA = sa.MetaData()
EFFECTS = sa.Table(
    "kit_effects", EFFECTS_METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("note", sa.String(200)),
)


def record_effect(uow, source: str, note: str | None = None) -> None:
    uow.session.execute(EFFECTS.insert().values(source=source, note=note))


def record(event, uow) -> None:
    """A handler whose whole effect is one row naming the event."""
    record_effect(uow, event.id, event.type)


def effect_counts(database: Database) -> Counter:
    with database.transaction() as session:
        return Counter(session.scalars(sa.select(EFFECTS.c.source)))


# The kit's own tables, read back ---------------------------------------------------------

def outbox_row(database: Database, event_id: str) -> OutboxRow:
    with database.transaction() as session:
        return session.get(OutboxRow, event_id)


def inbox_ids(database: Database) -> list[str]:
    with database.transaction() as session:
        return sorted(session.scalars(sa.select(InboxRow.event_id)))


def timers(database: Database) -> list[TimerRow]:
    with database.transaction() as session:
        return list(session.scalars(sa.select(TimerRow).order_by(TimerRow.id)))


def retries(database: Database) -> list[RetryRow]:
    """The embedded bus's retries waiting in the service's database."""
    with database.transaction() as session:
        return list(session.scalars(sa.select(RetryRow).order_by(RetryRow.id)))


def dead_letters(database: Database) -> list[DeadLetterRow]:
    with database.transaction() as session:
        return list(session.scalars(sa.select(DeadLetterRow).order_by(DeadLetterRow.id)))


def outcomes(runtime: Runtime, type_: str) -> dict[str, int]:
    """How many deliveries of `type_` the service's consumers settled, by outcome (from its metrics)."""
    registry = runtime.metrics.registry
    counts = {}
    for outcome in ("handled", "duplicate", "ignored", "retry", "dead"):
        value = registry.get_sample_value("events_consumed_total", {"type": type_, "outcome": outcome})
        if value:
            counts[outcome] = int(value)
    return counts


# Toy services ----------------------------------------------------------------------------

class Kit:
    """Toy services wired as the real ones are; whatever it started is stopped and closed at the end."""

    def __init__(self, settings: Settings, migrations: Path, *, database: Callable[[Service], Database],
                 bus: Callable[[], Any], on_service: Callable[[Service], None] | None = None):
        self.settings = settings
        self.migrations = migrations
        self._database = database
        self._bus = bus
        self._on_service = on_service
        self.runtimes: list[Runtime] = []
        self.workers: list[Worker] = []

    def service(self, *, handlers: dict | None = None, timers: dict | None = None, name: str | None = None,
                producer: str = "users") -> Service:
        """A toy service; the events it emits are users' (`REGISTERED`, `SUSPENDED`), so it speaks as users."""
        service = Service(name=name or unique("kit"), metadata=KitBase.metadata, migrations=self.migrations,
                          handlers=dict(handlers or {}), timers=dict(timers or {}), producer=producer)
        if self._on_service:
            self._on_service(service)
        return service

    def runtime(self, service: Service, *, database: Database | None = None, bus=None,
                settings: Settings | None = None, tracer_provider=None) -> Runtime:
        """A migrated runtime; pass `database` to run a second process of the service on the same data."""
        runtime = Runtime(service, settings or self.settings, bus=bus or self._bus(),
                          database=database or self._database(service), tracer_provider=tracer_provider)
        self.runtimes.append(runtime)
        runtime.migrate()
        EFFECTS.create(runtime.db.engine, checkfirst=True)
        return runtime

    def restarted(self, runtime: Runtime) -> Runtime:
        """The same service on the same data, as a new process would build it."""
        return self.runtime(runtime.service, database=Database(runtime.db.url))

    def worker(self, runtime: Runtime) -> Worker:
        worker = Worker(runtime).start()
        self.workers.append(worker)
        assert worker.consuming.wait(10), f"{runtime.service.name} worker did not start consuming"
        return worker

    def close(self) -> None:
        for worker in self.workers:
            worker.stopping.set()  # all at once: each consumer takes up to half a second to notice
        for worker in reversed(self.workers):
            worker.stop()
        for runtime in reversed(self.runtimes):
            runtime.close()


# The broker, seen independently of the kit -------------------------------------------------

@dataclass
class Delivered:
    body: bytes
    properties: pika.BasicProperties
    headers: dict = field(default_factory=dict)


class Broker:
    """A pika connection of the test's own: looks at queues, publishes raw bodies, cleans up."""

    def __init__(self, url: str):
        parts = parse_url(url)
        self.connection = pika.BlockingConnection(pika.ConnectionParameters(
            host=parts["hostname"], port=parts["port"] or 5672, virtual_host=parts["virtual_host"] or "/",
            credentials=pika.PlainCredentials(parts["userid"] or "guest", parts["password"] or "guest")))
        self.user = parts["userid"] or "guest"
        self.channel = self._open_channel()
        self._queues: list[str] = []
        self._exchanges: list[str] = []

    def _open_channel(self):
        channel = self.connection.channel()
        channel.confirm_delivery()
        return channel

    def delete_later(self, *queues: str) -> None:
        self._queues.extend(queues)

    def declare_exchange(self, name: str, type_: str = "topic") -> None:
        """A bare exchange (deleted at the end of the test)."""
        self._exchanges.append(name)
        self.channel.exchange_declare(name, type_, durable=True)

    def delete_exchange_later(self, name: str) -> None:
        self._exchanges.append(name)

    def declare_queue(self, name: str, exchange: str, routing_key: str) -> None:
        self._queues.append(name)
        self.channel.queue_declare(name, durable=True)
        self.channel.queue_bind(name, exchange, routing_key)

    def publish(self, body: bytes | str, *, routing_key: str, exchange: str = "", **properties) -> None:
        """A raw message, confirmed; mandatory, so a wrong queue name fails the test instead of vanishing. It
        carries the broker user it is published as, as the kit's publishers do, unless `user_id` says otherwise
        (None: no user_id at all)."""
        if isinstance(body, str):
            body = body.encode()
        properties.setdefault("user_id", self.user)
        self.channel.basic_publish(exchange, routing_key, body, pika.BasicProperties(delivery_mode=2, **properties),
                                   mandatory=True)

    def _passive(self, queue: str):
        try:
            return self.channel.queue_declare(queue, passive=True).method
        except pika.exceptions.ChannelClosedByBroker:
            self.channel = self._open_channel()
            return None

    def exists(self, queue: str) -> bool:
        return self._passive(queue) is not None

    def count(self, queue: str) -> int:
        method = self._passive(queue)
        assert method is not None, f"queue {queue} does not exist"
        return method.message_count

    def consumers(self, queue: str) -> int:
        method = self._passive(queue)
        assert method is not None, f"queue {queue} does not exist"
        return method.consumer_count

    def get(self, queue: str) -> Delivered | None:
        method, properties, body = self.channel.basic_get(queue, auto_ack=True)
        if method is None:
            return None
        return Delivered(body, properties, dict(properties.headers or {}))

    def close(self) -> None:
        try:
            if self.channel.is_closed:
                self.channel = self._open_channel()
            for queue in dict.fromkeys(self._queues):
                self.channel.queue_delete(queue)
            for exchange in dict.fromkeys(self._exchanges):
                self.channel.exchange_delete(exchange)
        finally:
            self.connection.close()
