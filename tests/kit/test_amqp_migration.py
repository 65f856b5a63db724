"""A classic topology with messages in it becomes a quorum one: `marketplace topology` replaces each queue, nothing lost.

Each story runs on a vhost of its own, since it replaces `marketplace.audit` too, which every test shares.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from datetime import timedelta

import pika
import pytest

from shared.bus import topology
from shared.bus.amqp import AmqpBus, declare_all
from shared.bus.migration import HOLDING_SUFFIX, Migration, MigrationError, holding_queue
from tests import infra
from tests.faults.suite import Broker as Address
from tests.kit.helpers import REGISTERED, SUSPENDED, Broker
from tests.support import eventually

pytestmark = [pytest.mark.amqp]


@pytest.fixture
def vhost_url(amqp_url):
    """A vhost of the test's own on the broker of `amqp_url`, deleted afterwards."""
    vhosts = Address.of(amqp_url).vhosts()
    if not vhosts.usable():
        infra.unavailable("RabbitMQ's vhost management (rabbitmqctl or the management API)")
    name = f"kit_migration_{uuid.uuid4().hex[:10]}"
    vhosts.add(name)
    yield Address.of(amqp_url).url(name)
    vhosts.delete(name)


@pytest.fixture
def vhost(vhost_url, amqp_settings):
    """(classic settings, quorum settings, an independent look at the broker), on the test's vhost."""
    settings = amqp_settings.replace(amqp_url=vhost_url, retry_delays=(timedelta(seconds=60),))
    broker = Broker(vhost_url)
    yield settings.replace(queue_type="classic"), settings.replace(queue_type="quorum"), broker
    broker.connection.close()


def queue_types(vhost_url: str) -> dict[str, str]:
    """Each queue's type as the broker lists it (rabbitmqctl), independently of the kit."""
    if not shutil.which("rabbitmqctl"):
        infra.unavailable("rabbitmqctl, to list queue types")
    name = vhost_url.rsplit("/", 1)[1]
    listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", name, "name", "type", "--no-table-headers"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    return dict(line.split("\t")[:2] for line in listed.splitlines() if "\t" in line)


def ids(broker: Broker, queue: str) -> list[str]:
    """The message ids on `queue`, taken off it."""
    found = []
    while (delivered := broker.get(queue)) is not None:
        found.append(delivered.properties.message_id)
    return found


def fill(broker: Broker, settings, service: str, events: int) -> dict[str, list[str]]:
    """Events through the exchange (to the events and audit queues), one waiting retry, one dead letter."""
    put: dict[str, list[str]] = {topology.events_queue_name(service): [], topology.AUDIT_QUEUE: []}
    for number in range(events):
        message_id = f"event-{number}"
        broker.publish(f'{{"n": {number}}}', exchange=settings.exchange, routing_key=REGISTERED, message_id=message_id)
        put[topology.events_queue_name(service)].append(message_id)
        put[topology.AUDIT_QUEUE].append(message_id)
    retry = topology.retry_queue_name(service, settings.retry_delays[0])
    broker.publish("{}", routing_key=retry, message_id="waiting-retry", headers={"x-retries": 1})
    broker.publish("{}", exchange=topology.DEAD_EXCHANGE, routing_key=service, message_id="dead-one",
                   headers={"x-error": "boom"})
    put[retry], put[topology.dead_queue_name(service)] = ["waiting-retry"], ["dead-one"]
    for queue, messages in put.items():
        eventually(lambda queue=queue, messages=messages: broker.count(queue) == len(messages), 10)
    return put


class TestMigratingAClassicTopology:
    def test_every_queue_becomes_a_quorum_queue_with_every_message_it_held(self, vhost, vhost_url):
        classic, quorum, broker = vhost
        service = infra.unique("kit")
        services = {service: [REGISTERED, SUSPENDED]}
        declare_all(classic, services)
        put = fill(broker, classic, service, events=25)
        assert set(queue_types(vhost_url).values()) == {"classic"}

        steps = declare_all(quorum, services)

        assert {step.queue: step.action for step in steps} == {queue: "replaced" for queue in put}
        assert all(step.reason.startswith("inequivalent arg") for step in steps), [step.text() for step in steps]
        assert {step.queue: step.moved for step in steps} == {queue: len(messages) for queue, messages in put.items()}
        assert queue_types(vhost_url) == {queue: "quorum" for queue in put}  # no holding queue is left
        # Declared as the settings say: a second run (and a worker's declaration) finds nothing to change.
        assert {step.action for step in declare_all(quorum, services)} == {"declared"}
        AmqpBus(quorum).declare(service, services[service])
        for queue, messages in put.items():
            assert sorted(ids(broker, queue)) == sorted(messages), queue

    def test_the_retry_count_and_error_of_a_moved_message_stay_with_it(self, vhost):
        classic, quorum, broker = vhost
        service = infra.unique("kit")
        declare_all(classic, {service: [REGISTERED]})
        fill(broker, classic, service, events=1)

        declare_all(quorum, {service: [REGISTERED]})

        retry = broker.get(topology.retry_queue_name(service, quorum.retry_delays[0]))
        dead = broker.get(topology.dead_queue_name(service))
        assert retry.headers["x-retries"] == 1 and retry.properties.delivery_mode == 2
        assert dead.headers["x-error"] == "boom"

    def test_events_published_while_the_queues_are_replaced_reach_the_new_queue(self, vhost):
        classic, quorum, broker = vhost
        service = infra.unique("kit")
        declare_all(classic, {service: [REGISTERED]})
        fill(broker, classic, service, events=3)
        events = topology.events_queue_name(service)
        bus = AmqpBus(quorum)
        with bus.connection() as connection:
            migration = Migration(connection)
            queue = topology.events_queue(service, bus.exchange, [REGISTERED], bus.replication)
            migration._replace(queue, holding := holding_queue(queue))
            # Between the steps: the holding queue is bound, so an event published now is kept there...
            broker.publish("{}", exchange=quorum.exchange, routing_key=REGISTERED, message_id="meanwhile")
            eventually(lambda: broker.count(holding.name) == 4)
            step = migration.ensure(queue)  # ...and the next run finishes the replacement with it

        assert step.action == "resumed" and step.moved == 4
        # At least once: while both are bound it reached both (the consumer's inbox absorbs the second).
        assert set(ids(broker, events)) == {"event-0", "event-1", "event-2", "meanwhile"}
        assert not broker.exists(holding.name)

    def test_a_run_cut_short_is_finished_by_the_next(self, vhost):
        classic, quorum, broker = vhost
        service = infra.unique("kit")
        declare_all(classic, {service: [REGISTERED]})
        put = fill(broker, classic, service, events=4)
        events = topology.events_queue_name(service)
        # The process died after moving the messages to the holding queue and deleting the old queue.
        holding = events + HOLDING_SUFFIX
        broker.channel.queue_declare(holding, durable=True)
        for message_id in put[events]:
            broker.publish("{}", routing_key=holding, message_id=message_id)
        broker.channel.queue_delete(events)

        steps = {step.queue: step for step in declare_all(quorum, {service: [REGISTERED]})}

        assert steps[events].action == "resumed" and steps[events].moved == 4
        assert sorted(ids(broker, events)) == sorted(put[events])
        assert not broker.exists(holding)

    def test_a_queue_with_consumers_is_refused_and_keeps_its_messages(self, vhost, vhost_url):
        classic, quorum, broker = vhost
        service = infra.unique("kit")
        declare_all(classic, {service: [REGISTERED]})
        fill(broker, classic, service, events=2)
        events = topology.events_queue_name(service)
        listener = pika.BlockingConnection(pika.URLParameters(vhost_url))
        listener.channel().basic_consume(events, lambda *args: None)
        try:
            with pytest.raises(MigrationError, match=f"{events} has 1 consumer.*stop its service's workers"):
                declare_all(quorum, {service: [REGISTERED]})
        finally:
            listener.close()
        assert broker.count(events) == 2 and queue_types(vhost_url)[events] == "classic"

    def test_a_worker_meeting_a_classic_queue_says_to_run_the_topology_command(self, vhost):
        classic, quorum, _ = vhost
        service = infra.unique("kit")
        declare_all(classic, {service: [REGISTERED]})
        with pytest.raises(topology.QueueMismatch, match="x-queue-type.*`marketplace topology` replaces it"):
            AmqpBus(quorum).declare(service, [REGISTERED])



class TestTheTopologyCommand:
    def test_it_says_what_it_replaced(self, vhost_url, tmp_path):
        from marketplace import registry

        def topology_command(queue_type: str) -> str:
            env = {key: value for key, value in os.environ.items() if not key.startswith(("AMQP_URL", "DATABASE_URL"))}
            done = subprocess.run([sys.executable, "-m", "marketplace.cli", "topology"], capture_output=True, text=True,
                                  env={**env, "AMQP_URL": vhost_url, "QUEUE_TYPE": queue_type}, cwd=tmp_path,
                                  timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        first = topology_command("classic")
        assert len(first.splitlines()) == 1 and first.rstrip().endswith("(classic queues; 0 replaced)")

        migrated = topology_command("quorum").splitlines()

        replaced = [line for line in migrated if ": replaced (inequivalent arg" in line]
        assert {f"{name}.events" for name in registry.NAMES} | {topology.AUDIT_QUEUE} <= {
            line.split(":")[0] for line in replaced}
        assert migrated[-1].endswith(f"(quorum queues; {len(replaced)} replaced)")
        assert set(queue_types(vhost_url).values()) == {"quorum"}
        assert "0 replaced" in topology_command("quorum")
