"""Consuming from RabbitMQ: one effect per event, retries through the delay tiers, then dead letters."""
from __future__ import annotations

import json
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from shared.bus import topology
from shared.db import utcnow
from shared.events import Envelope
from shared.ids import new_id
from shared.tables import OutboxRow
from tests.kit.helpers import (REGISTERED, SUSPENDED, effect_counts, inbox_ids, outcomes, record, record_effect,
                               registered, service_queues, suspended)
from tests.support import eventually

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]


def mark_unsent(database, event_id: str) -> None:
    """As if the relay had crashed after the broker's confirm but before it wrote `sent_at`, a while ago."""
    with database.transaction() as session:
        session.execute(sa.update(OutboxRow).where(OutboxRow.id == event_id).values(sent_at=None, next_attempt_at=utcnow()))


def emit(runtime, type_: str, data: dict) -> Envelope:
    with runtime.unit_of_work() as uow:
        return uow.emit(type_, data)


class TestDuplicateDelivery:
    def test_the_same_event_delivered_twice_has_one_effect(self, amqp_kit):
        consumer = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: record}))
        amqp_kit.worker(consumer)
        producer = amqp_kit.runtime(amqp_kit.service())
        event = emit(producer, REGISTERED, registered())
        eventually(lambda: outcomes(consumer, REGISTERED) == {"handled": 1})
        producer.relay.flush_marks()

        mark_unsent(producer.db, event.id)
        assert producer.relay.sweep() == 1  # the relay publishes the very same envelope again

        eventually(lambda: outcomes(consumer, REGISTERED) == {"handled": 1, "duplicate": 1})
        assert effect_counts(consumer.db) == {event.id: 1}
        assert inbox_ids(consumer.db) == [event.id]

    def test_two_competing_workers_apply_each_event_once(self, amqp_kit, broker):
        def slow_record(event, uow):
            record(event, uow)
            time.sleep(0.01)  # a handler that takes a while widens the race between the two copies

        service = amqp_kit.service(handlers={REGISTERED: slow_record})
        first = amqp_kit.runtime(service)
        second = amqp_kit.restarted(first)  # a second process of the same service, on the same database
        amqp_kit.worker(first)
        amqp_kit.worker(second)
        assert broker.consumers(topology.events_queue_name(service.name)) == 2
        events = [Envelope.new(REGISTERED, registered(), producer="kit", correlation_id=new_id())
                  for _ in range(20)]

        first.bus.publish([copy for event in events for copy in (event, event)])

        eventually(lambda: sum(outcomes(first, REGISTERED).values()) == 40, message="40 deliveries settled")
        assert outcomes(first, REGISTERED) == {"handled": 20, "duplicate": 20}
        assert effect_counts(first.db) == {event.id: 1 for event in events}
        assert inbox_ids(first.db) == sorted(event.id for event in events)


class TestFailingHandler:
    def test_a_handler_that_always_fails_ends_in_dead_letters_after_its_retries(self, amqp_kit, broker):
        calls = Counter()

        def always_fails(event, uow):
            calls[event.id] += 1
            record_effect(uow, event.id)  # rolled back with the failure
            raise RuntimeError("the ledger is down")

        service = amqp_kit.service(handlers={SUSPENDED: always_fails, REGISTERED: record})
        consumer = amqp_kit.runtime(service)
        amqp_kit.worker(consumer)
        producer = amqp_kit.runtime(amqp_kit.service())
        dead_queue = topology.dead_queue_name(service.name)

        bad = emit(producer, SUSPENDED, suspended())
        good = emit(producer, REGISTERED, registered())

        eventually(lambda: broker.count(dead_queue) == 1, message="the dead letter")
        dead = broker.get(dead_queue)
        tiers = len(amqp_kit.settings.retry_delays)
        assert dead.properties.message_id == bad.id
        assert dead.headers["x-retries"] == tiers == 3
        assert dead.headers["x-error"] == "RuntimeError: the ledger is down"
        assert dead.headers["x-original-routing-key"] == SUSPENDED
        assert {death["queue"]: death["count"] for death in dead.headers["x-death"]} == {
            topology.retry_queue_name(service.name, delay): 1 for delay in amqp_kit.settings.retry_delays}
        assert Envelope.from_json(dead.body) == bad
        assert calls == {bad.id: 1 + tiers}
        eventually(lambda: effect_counts(consumer.db) == {good.id: 1})

        after = emit(producer, REGISTERED, registered())  # the queue goes on after the dead letter

        eventually(lambda: effect_counts(consumer.db) == {good.id: 1, after.id: 1})
        assert inbox_ids(consumer.db) == sorted([good.id, after.id])
        assert outcomes(consumer, SUSPENDED) == {"retry": tiers, "dead": 1}
        assert all(broker.count(queue) == 0 for queue in service_queues(service.name, amqp_kit.settings))

    def test_a_handler_that_fails_once_succeeds_on_its_retry(self, amqp_kit, broker):
        failures = []

        def fails_once(event, uow):
            if not failures:
                failures.append(event.id)
                raise ConnectionError("flaky")
            record(event, uow)

        service = amqp_kit.service(handlers={REGISTERED: fails_once})
        consumer = amqp_kit.runtime(service)
        amqp_kit.worker(consumer)

        event = emit(amqp_kit.runtime(amqp_kit.service()), REGISTERED, registered())

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1})
        assert failures == [event.id]
        assert outcomes(consumer, REGISTERED) == {"retry": 1, "handled": 1}
        assert broker.count(topology.dead_queue_name(service.name)) == 0


def as_envelope(type_: str, data: dict, **overrides) -> bytes:
    fields = {"type": type_, "data": data, "producer": "kit", "correlation_id": new_id(), **overrides}
    return Envelope(**fields).to_json().encode()


class TestUndecodableMessages:
    @pytest.fixture
    def consuming(self, amqp_kit):
        """A service whose handler is never meant to run; returns it with the calls its handler got."""
        calls = []

        def handler(event, uow):
            calls.append(event.id)
            record(event, uow)

        service = amqp_kit.service(handlers={REGISTERED: handler})
        runtime = amqp_kit.runtime(service)
        amqp_kit.worker(runtime)
        return runtime, calls

    def assert_dead_at_once(self, broker, runtime, calls, body: bytes, error: str):
        name = runtime.service.name
        broker.publish(body, routing_key=topology.events_queue_name(name))  # straight onto the service's queue

        eventually(lambda: broker.count(topology.dead_queue_name(name)) == 1, message="the dead letter")
        dead = broker.get(topology.dead_queue_name(name))
        assert dead.body == body
        assert dead.headers["x-retries"] == 0
        assert error in dead.headers["x-error"]
        assert "x-death" not in dead.headers  # it never waited in a retry queue
        assert calls == []
        assert inbox_ids(runtime.db) == []
        # and the next good event is handled
        good = Envelope.new(REGISTERED, registered(), producer="kit", correlation_id=new_id())
        broker.publish(good.to_json(), routing_key=topology.events_queue_name(name))
        eventually(lambda: effect_counts(runtime.db) == {good.id: 1})

    @pytest.mark.parametrize("body, error", [
        (b"\x00 not json at all", "not an event envelope"),
        (b'{"hello": "world"}', "not an event envelope"),
        (b"[1, 2, 3]", "not an event envelope"),
        (json.dumps({"type": REGISTERED, "data": ["not", "an", "object"], "producer": "kit", "version": 1,
                     "id": new_id(), "occurred_at": "2026-01-01T00:00:00Z"}).encode(), "not an object"),
    ], ids=["not-json", "not-an-envelope", "array", "data-not-an-object"])
    def test_a_body_that_is_not_an_envelope_is_dead_lettered_at_once(self, consuming, broker, body, error):
        self.assert_dead_at_once(broker, *consuming, body, error)

    def test_an_event_whose_data_fails_its_schema_is_dead_lettered_at_once(self, consuming, broker):
        body = as_envelope(REGISTERED, registered(user_id="not-a-uuid", roles="client"))
        self.assert_dead_at_once(broker, *consuming, body, "fails its schema")

    def test_an_event_of_an_unknown_version_is_dead_lettered_at_once(self, consuming, broker):
        body = as_envelope(REGISTERED, registered(), version=2)
        self.assert_dead_at_once(broker, *consuming, body, f"unknown event type {REGISTERED!r} version 2")
