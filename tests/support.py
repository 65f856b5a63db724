"""Helpers the stories share: a service under test, tokens for any user, events from outside."""
from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from typing import Any, Callable, Mapping

import pika

from shared.bus import topology
from shared.bus.amqp import AmqpBus
from shared.bus.embedded import EmbeddedBus
from shared.config import ServiceSettings, Settings
from shared.db import Database
from shared.dlq import pika_parameters
from shared.events import OWNERS, Envelope
from shared.http import create_app
from shared.ids import new_id  # noqa: F401 - stories take new_id from here
from shared.runtime import Runtime
from shared.service import Service
from shared.worker import Worker
from tests.infra import unique


def eventually(predicate: Callable[[], Any], timeout: float = 10, interval: float = 0.05, message: str = ""):
    """Wait until `predicate()` is truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for "
                                 f"{message or getattr(predicate, '__name__', predicate)} (last value {value!r})")
        time.sleep(interval)


def write_lock_is_free(db: Database, within: float = 1.0) -> bool:
    """Whether another connection can take the embedded (SQLite) database's write lock within `within`
    seconds: it can unless someone holds it all that time (the outbox's bookkeeping may take it for a
    moment). A call that must run outside any write transaction checks this while it runs."""
    probe = sqlite3.connect(db.url.database, timeout=within, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


class Harness:
    """One service built the way gunicorn and `marketplace dev` build it, on a given database and bus."""

    def __init__(self, service: Service, settings: Settings, database: Database, bus=None, *,
                 service_settings: ServiceSettings | None = None, collaborators: Mapping[str, Any] | None = None):
        """`settings` are the kit's; the service's own are its defaults unless `service_settings` are given
        (never the developer's environment); `collaborators` replace the service's declared ones by name."""
        self.service = service
        self.settings = settings
        self.service_settings = service.settings.from_env({}) if service_settings is None else service_settings
        self.bus = bus or (EmbeddedBus() if settings.embedded else None)
        self.runtime = Runtime(service, settings, database=database, bus=self.bus,
                               service_settings=self.service_settings, collaborators=collaborators)
        self.runtime.migrate()
        self.app = create_app(service, settings, runtime=self.runtime)
        self.client = self.app.test_client()
        self.worker: Worker | None = None

    def start_worker(self) -> Worker:
        self.worker = Worker(self.runtime).start()
        # A bound on a machine busy with the other worker's tests and the engine's setup, not a figure.
        assert self.worker.consuming.wait(60), (
            f"{self.service.name} worker did not start consuming (stopped loops: {self.worker.dead_loops()})")
        return self.worker

    def headers(self, user_id: str | None = None, roles=("client",), **extra) -> dict[str, str]:
        """Authorization for any user id and roles, signed with this run's key."""
        token, _ = self.app.extensions["tokens"].issue(user_id or new_id(), list(roles))
        return {"Authorization": f"Bearer {token}", **extra}

    def publish(self, type_: str, data: dict, *, correlation_id: str | None = None) -> Envelope:
        """An event as its producer would publish it, straight onto the bus."""
        envelope = Envelope.new(type_, data, producer=OWNERS[type_], correlation_id=correlation_id or new_id())
        self.runtime.bus.publish([envelope], settled=lambda _: None)
        return envelope

    def deliver(self, envelope: Envelope):
        """Hand one event to this service's consumer directly (no bus), e.g. to deliver it twice."""
        from shared.consumer import Consumer

        return Consumer(self.runtime).process(envelope.to_json())

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.runtime.close()  # marks what it published first, so nothing reaches its database after this


class PrivateBus:
    """A bus of the test's own on the shared RabbitMQ: its exchange, its queues, deleted afterwards.

    Isolation: other suites (and a running stack) share the broker; a service name and an exchange
    of the test's own keep their consumers and ours from taking each other's messages.
    """

    def __init__(self, settings: Settings):
        self.settings = settings.replace(exchange=unique("test.events"))
        self.made: dict[str, Settings] = {}

    def service(self, base: Service, settings: Settings | None = None) -> Service:
        """`base` under a name of its own, so its queues (for `settings`' retry delays) are this test's alone."""
        name = unique(base.name)
        self.made[name] = settings or self.settings
        return dataclasses.replace(base, name=name)

    def delete(self) -> None:
        with AmqpBus(self.settings).connection() as connection:
            channel = connection.default_channel
            for name, settings in self.made.items():
                queues = [topology.events_queue_name(name), topology.dead_queue_name(name)]
                queues += [topology.retry_queue_name(name, delay) for delay in settings.retry_delays]
                for queue in queues:
                    channel.queue_delete(queue)
            channel.exchange_delete(self.settings.exchange)


def service_queues(service: str, settings: Settings) -> list[str]:
    return [topology.events_queue_name(service), topology.dead_queue_name(service),
            *(topology.retry_queue_name(service, delay) for delay in settings.retry_delays)]


def empty_queues(amqp_url: str, queues: list[str]) -> None:
    """Purge those of `queues` the broker has; one it has never declared is passed over."""
    connection = pika.BlockingConnection(pika_parameters(amqp_url))
    try:
        for queue in queues:
            channel = connection.channel()
            try:
                channel.queue_purge(queue)
            except pika.exceptions.ChannelClosedByBroker:  # 404: not declared (the broker closed the channel)
                continue
            channel.close()
    finally:
        connection.close()


class Wire:
    """An independent pika client on the events exchange: its own temporary queue, bound per routing key."""

    def __init__(self, amqp_url: str, exchange: str = "marketplace.events"):
        self.connection = pika.BlockingConnection(pika_parameters(amqp_url))
        self.channel = self.connection.channel()
        self.exchange = exchange
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.received: list[tuple[dict, pika.BasicProperties, str]] = []

    def bind(self, routing_key: str) -> "Wire":
        self.channel.queue_bind(self.queue, self.exchange, routing_key=routing_key)
        return self

    def messages(self) -> list[tuple[dict, pika.BasicProperties, str]]:
        """Everything received so far: (envelope, properties, routing key), oldest first."""
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.received
            self.received.append((json.loads(body), properties, method.routing_key))

    def seen(self, type_: str, **data) -> list[dict]:
        """The envelopes of `type_` whose `data` holds these values."""
        return [envelope for envelope, _, _ in self.messages()
                if envelope["type"] == type_ and all(envelope["data"].get(k) == v for k, v in data.items())]

    def wait_for(self, type_: str, timeout: float = 10, **data) -> tuple[dict, pika.BasicProperties]:
        """The first message of `type_` whose `data` holds these values, as (envelope, properties)."""

        def arrived():
            return next(((envelope, properties) for envelope, properties, _ in self.messages()
                         if envelope["type"] == type_ and all(envelope["data"].get(k) == v for k, v in data.items())),
                        None)

        return eventually(arrived, timeout, message=f"no {type_} {data} on {self.exchange}")

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def suspended(user_id: str, reason: str = "Fraud") -> Envelope:
    """`users.user.suspended` as the users service sends it."""
    return Envelope.new("users.user.suspended", {"user_id": user_id, "reason": reason}, producer="users",
                        correlation_id=new_id())


def reinstated(user_id: str) -> Envelope:
    """`users.user.reinstated` as the users service sends it."""
    from shared.db import utcnow

    return Envelope.new("users.user.reinstated", {"user_id": user_id, "reinstated_at": utcnow()}, producer="users",
                        correlation_id=new_id())


def assert_suspended_refusal(response) -> None:
    """A write by a suspended account: 403, problem+json naming the suspension."""
    assert response.status_code == 403, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"].endswith("account-suspended") and body["detail"] == "This account is suspended."
