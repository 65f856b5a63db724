"""Consuming from RabbitMQ: one effect per event, retries through the delay tiers, then dead letters."""
from __future__ import annotations

import json
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from shared.bus import topology
from shared.consumer import Consumer
from shared.db import utcnow
from shared.events import CATALOG, OWNERS, Envelope
from shared.ids import new_id
from shared.tables import OutboxRow
from tests.kit.helpers import (REGISTERED, SUSPENDED, effect_counts, inbox_ids, outcomes, record, record_effect,
                               registered, sample_data, service_queues, suspended)
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
        events = [Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())
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
    fields = {"type": type_, "data": data, "producer": OWNERS[type_], "correlation_id": new_id(), **overrides}
    return Envelope(**fields).to_json().encode()


RELEASED = "payments.escrow.released"  # its data holds a timestamp (`available_at`)


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


class TestUndecodableMessages:
    @pytest.fixture
    def consuming(self, amqp_kit):
        """A service whose handler is never meant to run; returns it with the calls its handler got."""
        calls = []

        def handler(event, uow):
            calls.append(event.id)
            record(event, uow)

        service = amqp_kit.service(handlers={REGISTERED: handler, RELEASED: handler})
        runtime = amqp_kit.runtime(service)
        amqp_kit.worker(runtime)
        return runtime, calls

    def assert_dead_at_once(self, broker, runtime, calls, body: bytes, error: str, headers: dict | None = None):
        name = runtime.service.name
        # straight onto the service's queue
        broker.publish(body, routing_key=topology.events_queue_name(name), headers=headers)

        eventually(lambda: broker.count(topology.dead_queue_name(name)) == 1, message="the dead letter")
        dead = broker.get(topology.dead_queue_name(name))
        assert dead.body == body
        assert dead.headers["x-retries"] == 0
        assert error in dead.headers["x-error"]
        assert "x-death" not in dead.headers  # it never waited in a retry queue
        assert calls == []
        assert inbox_ids(runtime.db) == []
        # and the next good event is handled
        good = Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())
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

    @pytest.mark.parametrize("occurred_at, error", [
        ("99999-01-01T00:00:00Z", "occurred_at"),
        ("0001-01-01T00:00:00+01:00", "occurred_at: Timestamp out of range"),
        ("yesterday", "occurred_at"),
    ], ids=["year-99999", "before-year-1-in-utc", "not-a-timestamp"])
    def test_an_envelope_whose_timestamp_cannot_be_read_is_dead_lettered_at_once(self, consuming, broker,
                                                                                  occurred_at, error):
        body = as_envelope(REGISTERED, registered(), occurred_at=occurred_at)
        self.assert_dead_at_once(broker, *consuming, body, error)

    @pytest.mark.parametrize("moment, error", [
        ("0001-01-01T00:00:00+01:00", "'available_at': ['Timestamp out of range.']"),
        ("9999-12-31T23:59:59-23:59", "'available_at': ['Timestamp out of range.']"),
        ("99999-01-01T00:00:00Z", "fails its schema"),
        (10 ** 300, "fails its schema"),
    ], ids=["before-year-1-in-utc", "after-year-9999-in-utc", "year-99999", "huge-epoch"])
    def test_an_event_whose_data_holds_a_timestamp_out_of_range_is_dead_lettered_at_once(self, consuming, broker,
                                                                                         moment, error):
        data = {**sample_data(CATALOG[(RELEASED, 1)]()), "available_at": moment}
        body = json.dumps({"type": RELEASED, "data": data, "producer": "payments", "version": 1, "id": new_id(),
                           "correlation_id": new_id(), "occurred_at": "2026-01-01T00:00:00Z"}).encode()
        self.assert_dead_at_once(broker, *consuming, body, error)

    def test_a_body_nested_too_deep_to_parse_is_dead_lettered_at_once(self, consuming, broker):
        self.assert_dead_at_once(broker, *consuming, deep(100_000).encode(), "RecursionError")

    def test_an_event_whose_data_is_nested_too_deep_is_dead_lettered_at_once(self, consuming, broker):
        body = as_envelope(REGISTERED, registered()).replace(b'"name":"Ada"', f'"name":{deep(100_000)}'.encode())
        self.assert_dead_at_once(broker, *consuming, body, "RecursionError")

    @pytest.mark.parametrize("retries", ["abc", -1, "-1", "1e400", "9" * 5000, 2 ** 62, [1], True],
                             ids=["text", "negative", "negative-text", "float-text", "5000-digits", "huge",
                                  "array", "bool"])
    def test_an_event_whose_retries_header_cannot_be_read_is_dead_lettered_at_once(self, consuming, broker, retries):
        body = as_envelope(REGISTERED, registered())
        self.assert_dead_at_once(broker, *consuming, body, "x-retries header", headers={"x-retries": retries})

    def test_a_message_the_consumer_raises_on_is_dead_lettered_and_the_next_flows(self, amqp_kit, broker,
                                                                                  monkeypatch):
        # The last resort: should deciding on a message raise all the same, it is not left unacked.
        process = Consumer.process

        def explodes(self, body, retries=0, sender=None):
            if b"explode" in (body if isinstance(body, bytes) else body.encode()):
                raise MemoryError("explode")
            return process(self, body, retries, sender)

        monkeypatch.setattr(Consumer, "process", explodes)
        calls = []
        service = amqp_kit.service(handlers={REGISTERED: lambda event, uow: (calls.append(1), record(event, uow))})
        runtime = amqp_kit.runtime(service)
        amqp_kit.worker(runtime)
        body = as_envelope(REGISTERED, registered(name="explode"))

        self.assert_dead_at_once(broker, runtime, calls, body, "the consumer failed on it: MemoryError: explode")

    def test_good_retries_headers_are_still_read(self, consuming, broker):
        runtime, calls = consuming
        name = runtime.service.name
        events = [Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id()) for _ in range(3)]
        for event, retries in zip(events, [2, "1", None]):
            broker.publish(event.to_json(), routing_key=topology.events_queue_name(name), headers={"x-retries": retries})

        eventually(lambda: effect_counts(runtime.db) == {event.id: 1 for event in events})
        assert broker.count(topology.dead_queue_name(name)) == 0
