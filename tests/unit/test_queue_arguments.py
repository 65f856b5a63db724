"""How the kit declares RabbitMQ's queues and reads AMQP_URL: pure argument building, no broker."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.bus import topology
from shared.bus.brokers import broker_urls, failover_attempts, pika_parameters, spread
from shared.bus.migration import _was_classic, _why, holding_queue
from shared.config import ConfigError, Settings

QUORUM = topology.Replication()
CLASSIC = topology.Replication(topology.CLASSIC)
EXCHANGE = topology.events_exchange("marketplace.events")
REFUSED = ("PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'payments.events' in vhost '/': "
           "received the value 'quorum' of type 'longstr' but current is none")


class TestQuorumQueues:
    def test_the_events_queue_parks_a_message_redelivered_past_the_limit_in_the_dead_letters(self):
        queue = topology.events_queue("payments", EXCHANGE, ["a.b.c"], topology.Replication(delivery_limit=7))
        assert queue.queue_arguments == {
            "x-queue-type": "quorum", "x-delivery-limit": 7, "x-dead-letter-exchange": "marketplace.dead",
            "x-dead-letter-routing-key": "payments", "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish"}

    def test_a_retry_queue_hands_its_messages_back_at_least_once(self):
        queue = topology.retry_queue("payments", timedelta(seconds=10), QUORUM)
        assert queue.queue_arguments == {
            "x-queue-type": "quorum", "x-message-ttl": 10000, "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "payments.events", "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish"}

    def test_the_dead_letters_have_no_delivery_limit_so_peeking_never_drops_one(self):
        assert topology.dead_queue("payments", QUORUM).queue_arguments == {"x-queue-type": "quorum"}

    def test_the_audit_queue_is_replicated_and_keeps_the_most_recent(self):
        assert topology.audit_queue(EXCHANGE, 500, QUORUM).queue_arguments == {
            "x-queue-type": "quorum", "x-max-length": 500, "x-overflow": "drop-head"}

    def test_classic_queues_have_the_arguments_they_always_had(self):
        assert topology.events_queue("payments", EXCHANGE, ["a.b.c"], CLASSIC).queue_arguments is None
        assert topology.dead_queue("payments", CLASSIC).queue_arguments is None
        assert topology.retry_queue("payments", timedelta(seconds=1), CLASSIC).queue_arguments == {
            "x-message-ttl": 1000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "payments.events"}

    def test_retry_queues_come_before_the_events_queue_they_feed(self):
        names = [queue.name for queue in topology.service_queues(
            "payments", EXCHANGE, ["a.b.c"], (timedelta(seconds=1), timedelta(seconds=10)), QUORUM)]
        assert names == ["payments.retry.1s", "payments.retry.10s", "payments.events", "payments.dead"]


class TestSettings:
    def test_quorum_queues_are_the_default(self):
        settings = Settings.from_env({})
        assert (settings.queue_type, settings.delivery_limit) == ("quorum", 20)

    def test_classic_queues_on_request(self):
        assert Settings.from_env({"QUEUE_TYPE": "Classic", "DELIVERY_LIMIT": "5"}).queue_type == "classic"

    @pytest.mark.parametrize("env, named", [({"QUEUE_TYPE": "stream"}, "QUEUE_TYPE"),
                                            ({"DELIVERY_LIMIT": "0"}, "DELIVERY_LIMIT"),
                                            ({"DELIVERY_LIMIT": "many"}, "DELIVERY_LIMIT")])
    def test_a_bad_value_names_its_variable(self, env, named):
        with pytest.raises(ConfigError, match=named):
            Settings.from_env(env)


class TestSeveralBrokerUrls:
    URLS = "amqp://u:p@rabbit-1:5672/v;amqp://u:p@rabbit-2:5672/v; amqp://u:p@rabbit-3:5672/v"

    def test_each_node_is_listed_in_order(self):
        assert broker_urls(self.URLS) == ["amqp://u:p@rabbit-1:5672/v", "amqp://u:p@rabbit-2:5672/v",
                                          "amqp://u:p@rabbit-3:5672/v"]
        assert failover_attempts(self.URLS) == 3 and failover_attempts("amqp://one//") == 1

    def test_a_process_starts_at_any_node_and_keeps_every_other_in_turn(self):
        starts = set()
        for _ in range(60):
            urls = broker_urls(spread(self.URLS))
            starts.add(urls[0])
            assert sorted(urls) == sorted(broker_urls(self.URLS))
            first = broker_urls(self.URLS).index(urls[0])
            assert urls == (broker_urls(self.URLS) * 2)[first:first + 3]
        assert len(starts) == 3

    def test_a_single_url_is_left_as_it_is(self):
        assert spread("amqp://guest:guest@127.0.0.1:5672//") == "amqp://guest:guest@127.0.0.1:5672//"

    def test_pika_reads_kombus_spelling_of_the_default_vhost(self):
        assert pika_parameters("amqp://guest:guest@127.0.0.1:5672//").virtual_host == "/"
        assert pika_parameters("amqp://guest:guest@127.0.0.1:5672/marketplace").virtual_host == "marketplace"


class TestMigrationArguments:
    def test_the_reason_is_the_brokers_own_words(self):
        assert _why(REFUSED) == "inequivalent arg 'x-queue-type'"

    def test_a_queue_without_a_type_is_a_classic_one(self):
        assert _was_classic(REFUSED, topology.events_queue("payments", EXCHANGE, [], QUORUM))
        other = REFUSED.replace("'x-queue-type'", "'x-delivery-limit'").replace("is none", "the value 20")
        assert not _was_classic(other, topology.events_queue("payments", EXCHANGE, [], QUORUM))

    def test_the_holding_queue_is_bound_like_the_queue_it_stands_in_for(self):
        holding = holding_queue(topology.events_queue("payments", EXCHANGE, ["a.b.c", "d.e.f"], QUORUM))
        assert holding.name == "payments.events.migrating"
        assert sorted(b.routing_key for b in holding.bindings) == ["a.b.c", "d.e.f"]
        dead = holding_queue(topology.dead_queue("payments", QUORUM))
        assert [(b.exchange.name, b.routing_key) for b in dead.bindings] == [("marketplace.dead", "payments")]
