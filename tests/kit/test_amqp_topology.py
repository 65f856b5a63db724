"""The topology on RabbitMQ: declared by every start, and a second declaration changes nothing."""
from __future__ import annotations

import pytest

from shared.bus import topology
from shared.bus.amqp import declare_all
from tests.kit.helpers import REGISTERED, SUSPENDED, effect_counts, record, registered, service_queues
from tests.support import eventually

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]


class TestDeclaringTwice:
    def test_a_service_started_twice_declares_its_queues_again_and_goes_on(self, amqp_kit, broker):
        service = amqp_kit.service(handlers={REGISTERED: record})
        producer = amqp_kit.runtime(amqp_kit.service())
        first_start = amqp_kit.runtime(service)
        first = amqp_kit.worker(first_start)
        with producer.unit_of_work() as uow:
            before = uow.emit(REGISTERED, registered())
        eventually(lambda: effect_counts(first_start.db) == {before.id: 1})
        first.stop()

        second_start = amqp_kit.restarted(first_start)
        amqp_kit.worker(second_start)  # declares the exchanges, the audit queue and its own queues again
        with producer.unit_of_work() as uow:
            after = uow.emit(REGISTERED, registered())

        eventually(lambda: effect_counts(second_start.db) == {before.id: 1, after.id: 1})
        assert all(broker.exists(queue) for queue in service_queues(service.name, amqp_kit.settings))

    def test_declaring_everything_twice_does_not_fail(self, amqp_kit, broker):
        first, second = amqp_kit.service(), amqp_kit.service()
        services = {first.name: [REGISTERED], second.name: [REGISTERED, SUSPENDED]}

        declare_all(amqp_kit.settings, services)
        declare_all(amqp_kit.settings, services)
        runtime = amqp_kit.runtime(first)
        runtime.bus.declare(first.name, [REGISTERED])

        for name in services:
            assert all(broker.exists(queue) for queue in service_queues(name, amqp_kit.settings))
        assert broker.exists(topology.AUDIT_QUEUE)
        # both services' queues are bound: an event reaches each of them
        with runtime.unit_of_work() as uow:
            uow.emit(REGISTERED, registered())
        eventually(lambda: [broker.count(topology.events_queue_name(name)) for name in services] == [1, 1])


class TestDeliveryLimit:
    def test_a_message_redelivered_past_the_limit_is_parked_with_the_brokers_reason(self, bus_settings, broker):
        from shared.bus.amqp import AmqpBus
        from shared.dlq import AmqpDeadLetters
        from tests.infra import unique

        settings = bus_settings.replace(delivery_limit=2)
        service = unique("kit")
        broker.delete_later(*service_queues(service, settings))
        AmqpBus(settings).declare(service, [REGISTERED])
        events = topology.events_queue_name(service)
        broker.publish("{}", exchange=settings.exchange, routing_key=REGISTERED, message_id="crashes-its-consumer")
        eventually(lambda: broker.count(events) == 1)
        # A consumer that dies before it can decide, again and again: each time the message comes back.
        for _ in range(3):
            method = eventually(lambda: broker.channel.basic_get(events)[0])
            broker.channel.basic_nack(method.delivery_tag, requeue=True)

        letters = eventually(lambda: AmqpDeadLetters(settings, service).list())
        assert [letter.message_id for letter in letters] == ["crashes-its-consumer"]
        assert "delivery_limit" in letters[0].error and events in letters[0].error
        assert broker.count(events) == 0
