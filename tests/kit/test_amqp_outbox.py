"""Publishing on RabbitMQ: what is committed is published, even across a crash; nothing vanishes unrouted."""
from __future__ import annotations

import pytest

from shared.bus import PublishError
from shared.bus import amqp
from shared.bus.amqp import AmqpBus
from shared.events import Envelope
from shared.ids import new_id
from shared.runtime import UnitOfWork
from tests.infra import unique
from tests.kit.helpers import REGISTERED, SUSPENDED, effect_counts, outbox_row, record, registered, suspended
from tests.support import eventually

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]


class TestCrashBetweenCommitAndPublish:
    def test_an_event_committed_but_never_published_is_sent_after_a_restart(self, amqp_kit):
        consumer = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: record}))
        amqp_kit.worker(consumer)
        producer = amqp_kit.runtime(amqp_kit.service())

        # The transaction commits, then the process dies before its relay publishes anything.
        with producer.db.transaction() as session:
            event = UnitOfWork(producer, session, None).emit(REGISTERED, registered())
        assert outbox_row(producer.db, event.id).sent_at is None

        restarted = amqp_kit.restarted(producer)
        amqp_kit.worker(restarted)

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1}, message="the consumer's effect")
        row = eventually(lambda: (row := outbox_row(restarted.db, event.id)).sent_at and row, message="sent_at")
        assert row.attempts == 0

    def test_an_event_whose_publish_failed_is_sent_later_by_the_sweep(self, amqp_kit):
        consumer = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: record}))
        amqp_kit.worker(consumer)
        producer_service = amqp_kit.service()
        # The broker refuses every publish of this runtime: its exchange does not exist.
        refused = amqp_kit.runtime(producer_service, bus=AmqpBus(amqp_kit.settings, exchange=unique("kit.missing")))

        with refused.unit_of_work() as uow:  # the commit stands although publishing fails
            event = uow.emit(REGISTERED, registered())

        row = outbox_row(refused.db, event.id)
        assert row.sent_at is None
        assert row.attempts == 1
        assert "NOT_FOUND" in row.last_error
        assert row.next_attempt_at > row.created_at

        restarted = amqp_kit.restarted(refused)
        amqp_kit.worker(restarted)

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1}, message="the consumer's effect")
        eventually(lambda: outbox_row(restarted.db, event.id).sent_at, message="sent_at")


class TestUnroutablePublish:
    def test_publishing_a_type_no_queue_is_bound_for_raises(self, broker, amqp_settings):
        exchange = unique("test.unrouted")
        broker.declare_exchange(exchange)  # the bare exchange: no queue (not even the audit queue) is bound
        bus = AmqpBus(amqp_settings, exchange=exchange)
        event = Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())
        try:
            with pytest.raises(PublishError, match="unroutable"):
                bus.publish([event])

            queue = unique("kit.probe")
            broker.declare_queue(queue, exchange, REGISTERED)
            assert bus.publish([event]) == [event]  # the same bus goes on publishing once a queue is bound
            assert broker.count(queue) == 1
            assert Envelope.from_json(broker.get(queue).body) == event
        finally:
            bus.close()

    def test_an_unroutable_event_stays_unsent_in_the_outbox(self, amqp_kit, broker):
        exchange = unique("test.unrouted")
        broker.declare_exchange(exchange)
        producer = amqp_kit.runtime(amqp_kit.service(), bus=AmqpBus(amqp_kit.settings, exchange=exchange))

        with producer.unit_of_work() as uow:
            event = uow.emit(SUSPENDED, suspended())

        row = outbox_row(producer.db, event.id)
        assert row.sent_at is None
        assert row.attempts == 1
        assert "unroutable" in row.last_error


class TestConfirmTimeout:
    def test_a_batch_not_confirmed_in_time_leaves_no_stale_confirms_for_the_next(self, broker, amqp_settings,
                                                                                monkeypatch):
        exchange, queue = unique("test.confirms"), unique("kit.probe")
        broker.declare_exchange(exchange)
        broker.declare_queue(queue, exchange, REGISTERED)
        bus = AmqpBus(amqp_settings, exchange=exchange)
        late, next_ = (Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())
                       for _ in range(2))
        try:
            monkeypatch.setattr(amqp, "CONFIRM_TIMEOUT", 0)  # the broker's confirm cannot arrive in time
            with pytest.raises(PublishError, match="not confirmed"):
                bus.publish([late])
            monkeypatch.undo()

            assert bus.publish([next_]) == [next_]  # a fresh channel: it waits for its own confirm only
            assert bus._confirms.unconfirmed == set() and bus._confirms.published == 1
            eventually(lambda: broker.count(queue) == 2)  # the late one was sent; its copy is the inbox's to absorb
        finally:
            bus.close()
