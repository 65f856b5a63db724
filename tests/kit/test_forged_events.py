"""Forged events are refused: an event is handled only if its producer owns its type and, on RabbitMQ, only
if the broker user that producer publishes as published it. Anything else is dead at once, with its reason."""
from __future__ import annotations

import pika
import pytest

from shared.bus import topology
from shared.dlq import AmqpDeadLetters, pika_parameters
from shared.events import Envelope
from shared.ids import new_id
from shared.provenance import PUBLISHED_BY
from tests.kit.helpers import (REGISTERED, dead_letters, effect_counts, inbox_ids, outcomes, record, registered,
                               retries)
from tests.support import eventually


class TestOwnershipOnTheEmbeddedBus:
    """No broker, no users: the embedded bus still refuses an event whose producer does not own its type."""

    def test_an_event_sent_under_another_producers_type_is_parked_at_once(self, embedded_kit):
        calls = []
        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: lambda e, uow: calls.append(e.id)}))
        embedded_kit.worker(consumer)
        impostor = embedded_kit.runtime(embedded_kit.service(producer="jobs"))

        with impostor.unit_of_work() as uow:
            forged = uow.emit(REGISTERED, registered())

        [dead] = eventually(lambda: dead_letters(consumer.db), message="the dead letter")
        assert (dead.message_id, dead.retries) == (forged.id, 0)
        assert dead.error == f"forged: {REGISTERED} is users's event, but its producer says 'jobs'"
        assert calls == [] and retries(consumer.db) == [] and inbox_ids(consumer.db) == []
        assert outcomes(consumer, REGISTERED) == {"dead": 1}

    def test_the_owners_own_event_flows(self, embedded_kit):
        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: record}))
        embedded_kit.worker(consumer)
        owner = embedded_kit.runtime(embedded_kit.service())  # a toy service speaks as users

        with owner.unit_of_work() as uow:
            event = uow.emit(REGISTERED, registered())

        eventually(lambda: effect_counts(consumer.db) == {event.id: 1})
        assert dead_letters(consumer.db) == []


@pytest.mark.amqp
@pytest.mark.postgres
class TestBrokerUsers:
    """On RabbitMQ: `rogue_url` is a second broker user, allowed to publish, that no producer publishes as."""

    @pytest.fixture
    def consuming(self, amqp_kit):
        calls = []

        def handler(event, uow):
            calls.append(event.id)
            record(event, uow)

        runtime = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: handler}))
        amqp_kit.worker(runtime)
        return runtime, calls

    @pytest.fixture
    def rogue(self, rogue_url):
        """A confirmed channel of the rogue user's own, and its user name."""
        parameters = pika_parameters(rogue_url)
        connection = pika.BlockingConnection(parameters)
        channel = connection.channel()
        channel.confirm_delivery()
        yield channel, parameters.credentials.username
        if connection.is_open:
            connection.close()

    def event(self) -> Envelope:
        return Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())

    def test_the_broker_refuses_a_user_id_that_is_not_the_publishers_own(self, rogue):
        channel, _ = rogue
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
            channel.basic_publish("amq.topic", REGISTERED, self.event().to_json().encode(),
                                  pika.BasicProperties(user_id="guest"))
        assert refused.value.reply_code == 406 and "user_id" in refused.value.reply_text

    @pytest.mark.parametrize("user_id", ["rogue", None], ids=["its-own-user", "no-user-id"])
    def test_an_event_another_broker_user_published_is_dead_at_once(self, consuming, rogue, amqp_kit, broker,
                                                                      user_id):
        runtime, calls = consuming
        channel, rogue_user = rogue
        forged = self.event()
        sender = rogue_user if user_id else None
        channel.basic_publish(amqp_kit.settings.exchange, REGISTERED, forged.to_json().encode(),
                              pika.BasicProperties(message_id=forged.id, type=REGISTERED, user_id=sender,
                                                   delivery_mode=2), mandatory=True)

        dead_queue = topology.dead_queue_name(runtime.service.name)
        eventually(lambda: broker.count(dead_queue) == 1, message="the dead letter")
        dead = broker.get(dead_queue)
        published = f"broker user {sender!r}" if sender else "a publisher that set no user_id"
        expected = amqp_kit.settings.publishers.of("users")
        assert dead.headers["x-error"] == f"forged: {REGISTERED} from users was published by {published}, not by {expected!r}"
        assert dead.headers[PUBLISHED_BY] == (sender or "")
        assert dead.headers["x-retries"] == 0 and "x-death" not in dead.headers  # never retried
        assert Envelope.from_json(dead.body) == forged
        assert calls == [] and inbox_ids(runtime.db) == []
        assert outcomes(runtime, REGISTERED) == {"dead": 1}

    def test_a_forged_dead_letter_replayed_is_refused_again_and_a_genuine_one_is_handled(
            self, consuming, rogue, amqp_kit, broker):
        runtime, calls = consuming
        channel, rogue_user = rogue
        forged, genuine = self.event(), self.event()
        channel.basic_publish(amqp_kit.settings.exchange, REGISTERED, forged.to_json().encode(),
                              pika.BasicProperties(message_id=forged.id, user_id=rogue_user, delivery_mode=2))
        dead_queue = topology.dead_queue_name(runtime.service.name)
        eventually(lambda: broker.count(dead_queue) == 1, message="the forged dead letter")
        # A genuine event, dead for a reason of its own, beside it: the operator replays them both.
        broker.publish(genuine.to_json(), routing_key=dead_queue, message_id=genuine.id,
                       headers={PUBLISHED_BY: broker.user, "x-error": "a bug since fixed"})

        # As the service's own user, the way `marketplace dlq replay` is run with its AMQP_URL.
        assert AmqpDeadLetters(amqp_kit.settings, runtime.service.name).replay(None) == 2

        eventually(lambda: effect_counts(runtime.db) == {genuine.id: 1})
        eventually(lambda: broker.count(dead_queue) == 1, message="the forged one dead again")
        [letter] = AmqpDeadLetters(amqp_kit.settings, runtime.service.name).list()
        assert letter.message_id == forged.id
        assert letter.error == (f"forged: {REGISTERED} from users was published by broker user {rogue_user!r}, "
                                f"not by {amqp_kit.settings.publishers.of('users')!r}")
        assert calls == [genuine.id]

    def test_a_retry_keeps_the_publisher_of_the_original(self, amqp_kit, broker):
        failed = []

        def fails_once(event, uow):
            if not failed:
                failed.append(event.id)
                raise ConnectionError("flaky")
            record(event, uow)

        runtime = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: fails_once}))
        amqp_kit.worker(runtime)
        producer = amqp_kit.runtime(amqp_kit.service())
        with producer.unit_of_work() as uow:
            event = uow.emit(REGISTERED, registered())

        # The retry came back through the retry queue as the consumer's own copy, and was believed.
        eventually(lambda: effect_counts(runtime.db) == {event.id: 1})
        assert outcomes(runtime, REGISTERED) == {"retry": 1, "handled": 1}
        assert broker.count(topology.dead_queue_name(runtime.service.name)) == 0
