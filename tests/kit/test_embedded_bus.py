"""The embedded bus: services in one process, retries kept in the consumer's database, nothing lost across a restart."""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config

from shared.consumer import Consumer
from shared.db import MIGRATIONS, Database, utcnow
from shared.events import CATALOG, Envelope
from shared.ids import new_id
from shared.parked import ParkedMessages
from shared.tables import TimerRow
from tests.kit.helpers import (REGISTERED, SUSPENDED, dead_letters, effect_counts, inbox_ids, outbox_row, record,
                               registered, retries, sample_data, suspended, timers)
from tests.support import eventually


def emit(runtime, *events: tuple[str, dict]) -> list[Envelope]:
    with runtime.unit_of_work() as uow:
        return [uow.emit(type_, data) for type_, data in events]


class TestDeliveryInOneProcess:
    def test_an_event_emitted_by_one_service_is_handled_by_another(self, embedded_kit):
        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: record}))
        embedded_kit.worker(consumer)
        producer = embedded_kit.runtime(embedded_kit.service())

        [event] = emit(producer, (REGISTERED, registered()))

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1})
        eventually(lambda: outbox_row(producer.db, event.id).sent_at, message="sent_at once the consumer settled it")
        assert inbox_ids(consumer.db) == [event.id]

    def test_every_subscribing_service_gets_the_event(self, embedded_kit):
        consumers = [embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: record})) for _ in range(2)]
        for consumer in consumers:
            embedded_kit.worker(consumer)
        producer = embedded_kit.runtime(embedded_kit.service())

        [event] = emit(producer, (REGISTERED, registered()))

        for consumer in consumers:
            eventually(lambda: effect_counts(consumer.db) == {event.id: 1})
        eventually(lambda: outbox_row(producer.db, event.id).sent_at)

    def test_an_event_a_handler_emits_carries_its_cause(self, embedded_kit):
        received = []

        def keep(event, uow):
            received.append(event.envelope)
            record(event, uow)

        def suspend(event, uow):
            uow.emit(SUSPENDED, suspended(user_id=event.data["user_id"]))

        embedded_kit.worker(embedded_kit.runtime(embedded_kit.service(handlers={SUSPENDED: keep})))
        middle = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: suspend}))
        embedded_kit.worker(middle)
        producer = embedded_kit.runtime(embedded_kit.service())

        [cause] = emit(producer, (REGISTERED, registered()))

        [effect] = eventually(lambda: received, message="the follow-up event")
        assert (effect.type, effect.producer) == (SUSPENDED, middle.service.producer)
        assert effect.correlation_id == cause.correlation_id
        assert effect.causation_id == cause.id
        assert effect.data["user_id"] == cause.data["user_id"]

    def test_an_event_nobody_subscribes_to_is_sent_without_waiting_for_anyone(self, embedded_kit):
        producer = embedded_kit.runtime(embedded_kit.service())

        [event] = emit(producer, (SUSPENDED, suspended()))

        eventually(lambda: outbox_row(producer.db, event.id).sent_at, message="sent_at")


class TestFailingHandler:
    def test_a_failing_handler_is_retried_from_its_database_then_parked_in_dead_letters(self, embedded_kit):
        calls = []

        def always_fails(event, uow):
            calls.append(event.id)
            raise RuntimeError("the ledger is down")

        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: always_fails}))
        embedded_kit.worker(consumer)
        producer = embedded_kit.runtime(embedded_kit.service())

        [event] = emit(producer, (REGISTERED, registered()))

        retry = eventually(lambda: retries(consumer.db), message="a retry kept")[0]
        assert (retry.message_id, retry.type) == (event.id, REGISTERED) and retry.retries >= 1
        assert retry.error == "RuntimeError: the ledger is down"
        assert Envelope.from_json(retry.body) == event
        [dead] = eventually(lambda: dead_letters(consumer.db), message="the dead letter")
        tiers = len(embedded_kit.settings.retry_delays)
        assert (dead.message_id, dead.type, dead.retries) == (event.id, REGISTERED, tiers)
        assert dead.error == "RuntimeError: the ledger is down"
        assert Envelope.from_json(dead.body) == event
        assert calls == [event.id] * (1 + tiers)
        eventually(lambda: retries(consumer.db) == [], message="the last retry to go")
        assert timers(consumer.db) == [] and inbox_ids(consumer.db) == []
        assert outbox_row(producer.db, event.id).sent_at is not None  # settled: its retries were the consumer's

    def test_a_handler_that_fails_once_succeeds_on_its_retry(self, embedded_kit):
        failures = []

        def fails_once(event, uow):
            if not failures:
                failures.append(event.id)
                raise ConnectionError("flaky")
            record(event, uow)

        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: fails_once}))
        embedded_kit.worker(consumer)

        [event] = emit(embedded_kit.runtime(embedded_kit.service()), (REGISTERED, registered()))

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1})
        eventually(lambda: retries(consumer.db) == [])
        assert dead_letters(consumer.db) == []

    def test_an_undecodable_event_is_parked_at_once(self, embedded_kit):
        calls = []
        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: lambda event, uow: calls.append(1)}))
        embedded_kit.worker(consumer)
        future = Envelope(REGISTERED, registered(), "users", "correlation", version=2)

        embedded_kit.bus.publish([future])

        [dead] = eventually(lambda: dead_letters(consumer.db))
        assert (dead.message_id, dead.retries) == (future.id, 0)
        assert "version 2" in dead.error
        assert calls == [] and retries(consumer.db) == []


class TestRestart:
    def test_an_event_never_settled_is_delivered_after_a_restart(self, embedded_kit):
        consumer_service = embedded_kit.service(handlers={REGISTERED: record})
        producer_service = embedded_kit.service()
        consumer = embedded_kit.runtime(consumer_service)
        embedded_kit.worker(consumer).stop()  # subscribed, then stopped before it handles anything
        producer = embedded_kit.runtime(producer_service)

        [event] = emit(producer, (REGISTERED, registered()))
        assert outbox_row(producer.db, event.id).sent_at is None

        embedded_kit.restart()  # the process dies: the in-memory queue is gone, the SQLite files stay
        consumer = embedded_kit.runtime(consumer_service)
        embedded_kit.worker(consumer)
        producer = embedded_kit.runtime(producer_service)
        embedded_kit.worker(producer)

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1})
        eventually(lambda: outbox_row(producer.db, event.id).sent_at)

    def test_an_event_sent_with_one_nobody_subscribes_to_is_still_kept_until_settled(self, embedded_kit):
        consumer_service = embedded_kit.service(handlers={REGISTERED: record})
        producer_service = embedded_kit.service()
        embedded_kit.worker(embedded_kit.runtime(consumer_service)).stop()
        producer = embedded_kit.runtime(producer_service)

        # one transaction, two events: one with a subscriber that has not settled it, one without any
        # (every service follows suspensions, so the unheard one is an event no service here reacts to)
        posted = "jobs.job.posted"
        awaited, unheard = emit(producer, (REGISTERED, registered()), (posted, sample_data(CATALOG[(posted, 1)]())))

        eventually(lambda: outbox_row(producer.db, unheard.id).sent_at, message="the unheard event sent")
        assert outbox_row(producer.db, awaited.id).sent_at is None

        embedded_kit.restart()
        consumer = embedded_kit.runtime(consumer_service)
        embedded_kit.worker(consumer)
        producer = embedded_kit.runtime(producer_service)
        embedded_kit.worker(producer)

        eventually(lambda: effect_counts(consumer.db) == {awaited.id: 1})
        eventually(lambda: outbox_row(producer.db, awaited.id).sent_at)

    def test_a_retry_pending_at_a_restart_is_carried_out_after_it(self, embedded_kit):
        failures = []

        def fails_once(event, uow):
            if not failures:
                failures.append(event.id)
                raise ConnectionError("flaky")
            record(event, uow)

        consumer_service = embedded_kit.service(handlers={REGISTERED: fails_once})
        # before the restart its retries are not looked at again, so the retry is still pending when it stops
        dozing = embedded_kit.settings.replace(timer_poll=timedelta(hours=1))
        before = embedded_kit.runtime(consumer_service, settings=dozing)
        embedded_kit.worker(before)
        producer = embedded_kit.runtime(embedded_kit.service())
        [event] = emit(producer, (REGISTERED, registered()))
        eventually(lambda: retries(before.db), message="the retry kept")
        assert failures == [event.id]

        embedded_kit.restart()
        consumer = embedded_kit.runtime(consumer_service)
        embedded_kit.worker(consumer)

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1})
        eventually(lambda: retries(consumer.db) == [])
        assert dead_letters(consumer.db) == []


class TestUpgrade:
    def test_a_retry_kept_among_the_timers_before_the_upgrade_is_carried_out_after_it(self, embedded_kit):
        service = embedded_kit.service(handlers={REGISTERED: record})
        database = Database(embedded_kit.settings.database_url(service.name))
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join([str(MIGRATIONS / "versions"),
                                                                    str(embedded_kit.migrations)]))
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "kit_0001")
        event = Envelope.new(REGISTERED, registered(), producer="users", correlation_id="before-the-upgrade")
        with database.transaction() as session:  # as the kit kept a retry before it had a table for them
            session.add(TimerRow(kind="bus.retry", key=f"{event.id}:1", due_at=utcnow(), attempts=0,
                                 payload={"body": event.to_json(), "retries": 1, "error": "ConnectionError: flaky"}))

        consumer = embedded_kit.runtime(service, database=database)
        assert [(retry.message_id, retry.retries) for retry in retries(consumer.db)] == [(event.id, 1)]
        assert timers(consumer.db) == []
        embedded_kit.worker(consumer)

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1})
        eventually(lambda: retries(consumer.db) == [])
        assert dead_letters(consumer.db) == []


RELEASED = "payments.escrow.released"  # its data holds a timestamp (`available_at`)


class TestNoMessageStallsTheQueue:
    @pytest.fixture
    def consuming(self, embedded_kit):
        calls = []

        def handler(event, uow):
            calls.append(event.id)
            record(event, uow)

        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: handler, RELEASED: handler}))
        embedded_kit.worker(consumer)
        return consumer, calls

    def assert_parked_then_next_flows(self, embedded_kit, consumer, calls, bad: Envelope, error: str):
        embedded_kit.bus.publish([bad])

        [dead] = eventually(lambda: dead_letters(consumer.db), message="the dead letter")
        assert (dead.message_id, dead.retries) == (bad.id, 0)
        assert error in dead.error
        assert calls == [] and retries(consumer.db) == [] and inbox_ids(consumer.db) == []
        good = Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())
        embedded_kit.bus.publish([good])
        eventually(lambda: effect_counts(consumer.db) == {good.id: 1})

    @pytest.mark.parametrize("occurred_at, error", [
        ("99999-01-01T00:00:00Z", "occurred_at"),
        ("0001-01-01T00:00:00+01:00", "occurred_at: Timestamp out of range"),
    ], ids=["year-99999", "before-year-1-in-utc"])
    def test_an_envelope_whose_timestamp_cannot_be_read_is_parked_at_once(self, embedded_kit, consuming,
                                                                           occurred_at, error):
        bad = Envelope(REGISTERED, registered(), "users", new_id(), occurred_at=occurred_at)
        self.assert_parked_then_next_flows(embedded_kit, *consuming, bad, error)

    @pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59"])
    def test_an_event_whose_data_holds_a_timestamp_out_of_range_is_parked_at_once(self, embedded_kit, consuming,
                                                                                   moment):
        data = {**sample_data(CATALOG[(RELEASED, 1)]()), "available_at": moment}
        bad = Envelope(RELEASED, json.loads(json.dumps(data, default=str)), "payments", new_id())
        self.assert_parked_then_next_flows(embedded_kit, *consuming, bad, "'available_at': ['Timestamp out of range.']")

    def test_an_event_nested_too_deep_to_write_is_parked_at_once(self, embedded_kit, consuming):
        nested: list = []
        for _ in range(100_000):
            nested = [nested]
        bad = Envelope(REGISTERED, registered(name=nested), "users", new_id())
        self.assert_parked_then_next_flows(embedded_kit, *consuming, bad, "RecursionError")

    def test_a_message_the_consumer_raises_on_is_parked_and_the_next_flows(self, embedded_kit, monkeypatch):
        process = Consumer.process

        def explodes(self, body, retries=0, sender=None):
            if "explode" in body:
                raise MemoryError("explode")
            return process(self, body, retries, sender)

        monkeypatch.setattr(Consumer, "process", explodes)
        calls = []
        def handler(event, uow):
            calls.append(event.id)
            record(event, uow)

        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: handler}))
        embedded_kit.worker(consumer)
        bad = Envelope.new(REGISTERED, registered(name="explode"), producer="users", correlation_id=new_id())

        self.assert_parked_then_next_flows(embedded_kit, consumer, calls, bad, "MemoryError: explode")


class TestSettlingFailed:
    def test_an_event_whose_settling_failed_is_sent_again_by_the_sweep_without_a_restart(self, embedded_kit,
                                                                                          monkeypatch):
        keep, failures = ParkedMessages.keep, []

        def fails_once(self, body, result, **kwargs):
            if not failures:
                failures.append(result.message_id)
                raise OSError("disk I/O error")
            return keep(self, body, result, **kwargs)

        monkeypatch.setattr(ParkedMessages, "keep", fails_once)
        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: record}))
        other = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: record}))
        embedded_kit.worker(consumer)
        embedded_kit.worker(other)
        producer = embedded_kit.runtime(embedded_kit.service())
        embedded_kit.worker(producer)  # its relay's sweep

        [event] = emit(producer, (REGISTERED, registered()))

        row = eventually(lambda: (row := outbox_row(producer.db, event.id)).sent_at and row, timeout=15,
                         message="sent_at once both consumers settled it")
        assert failures == [event.id]
        assert row.attempts == 1 and "could not settle it: OSError: disk I/O error" in row.last_error
        assert effect_counts(consumer.db) == {event.id: 1} and effect_counts(other.db) == {event.id: 1}
        assert dead_letters(consumer.db) == dead_letters(other.db) == []
