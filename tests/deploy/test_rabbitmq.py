"""The broker's users: each service may do exactly what its API and worker do on RabbitMQ, the
operator everything in the vhost, and there is no guest.

What a service does comes from the code (shared.bus.amqp and shared.bus.topology): its worker
declares marketplace.events, marketplace.dead, marketplace.audit (bound to marketplace.events)
and its own `<service>.events`, `<service>.retry.<delay>` (dead-lettering through the default
exchange) and `<service>.dead` (bound to marketplace.dead); it consumes `<service>.events`; it
publishes events to marketplace.events, retries to the default exchange and dead letters to
marketplace.dead. RabbitMQ's access rules turn that into configure/write/read needs (declare:
configure on the resource; declare with a dead-letter exchange: also write on that exchange and
read on the queue; bind: write on the queue, read on the exchange; publish: write on the
exchange; consume/get/purge: read on the queue; the default exchange is `amq.default`).
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from shared.bus import topology
from shared.config import Settings
from shared.events import OWNERS
from tests.deploy.helpers import SERVICES, definitions, render_definitions_module

DELAYS = (timedelta(seconds=1), timedelta(seconds=10), timedelta(seconds=60), timedelta(milliseconds=500),
          timedelta(minutes=5))
EVENTS, DEAD, AUDIT, DEFAULT = "marketplace.events", topology.DEAD_EXCHANGE, topology.AUDIT_QUEUE, "amq.default"


def needs(service: str) -> dict[str, set[str]]:
    own = {topology.events_queue_name(service), topology.dead_queue_name(service)}
    retries = {topology.retry_queue_name(service, delay) for delay in DELAYS}
    return {
        "configure": {EVENTS, DEAD, AUDIT} | own | retries,
        "write": {EVENTS, DEAD, DEFAULT, AUDIT} | own,
        "read": {EVENTS, DEAD, topology.events_queue_name(service)} | retries,
    }


def universe() -> set[str]:
    names = {EVENTS, DEAD, AUDIT, DEFAULT, "amq.topic", "amq.direct", "amq.fanout", "marketplace.events.x",
             "xmarketplace.events", "evil", "", "marketplace.audit2"}
    for service in SERVICES + ("notifications",):
        names |= {topology.events_queue_name(service), topology.dead_queue_name(service),
                  f"{service}.events.x", f"{service}.other"}
        names |= {topology.retry_queue_name(service, delay) for delay in DELAYS}
    return names


def allowed(pattern: str, names: set[str]) -> set[str]:
    return {name for name in names if re.search(pattern, name)}  # RabbitMQ: a regex search, not a full match


def permissions() -> dict[str, dict]:
    spec = definitions()
    return {p["user"]: p for p in spec["permissions"]}


def test_the_default_retry_tiers_are_covered():
    assert set(Settings().retry_delays) <= set(DELAYS)


def test_there_is_one_vhost_one_user_per_service_and_an_operator_and_no_guest():
    spec = definitions()
    users = {user["name"]: user for user in spec["users"]}
    assert set(users) == set(SERVICES) | {"operator"}
    assert "guest" not in users and "guest" not in str(spec)
    assert [vhost["name"] for vhost in spec["vhosts"]] == ["marketplace"]
    for user in spec["users"]:
        assert user["password_hash"] == "", "passwords are filled in at start, never committed"
        # The operator's `marketplace topology` moves messages that keep their publisher's user_id:
        # only an impersonator may publish those.
        assert user["tags"] == (["administrator", "impersonator"] if user["name"] == "operator" else [])
    assert all(p["vhost"] == "marketplace" for p in spec["permissions"])
    assert sorted(permissions()) == sorted(users)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_may_do_exactly_what_it_needs(service):
    granted = permissions()[service]
    everything = universe()
    for kind, required in needs(service).items():
        assert allowed(granted[kind], everything) == required, f"{service} {kind}"


def test_no_service_may_touch_another_services_queues_or_read_dead_letters():
    for service in SERVICES:
        granted = permissions()[service]
        for other in SERVICES:
            if other == service:
                continue
            for kind in ("configure", "write", "read"):
                assert not re.search(granted[kind], topology.events_queue_name(other)), (service, other, kind)
                assert not re.search(granted[kind], topology.dead_queue_name(other)), (service, other, kind)
        assert not re.search(granted["read"], topology.dead_queue_name(service)), "dead letters are the operator's"


def test_each_service_may_publish_only_its_own_events_to_the_exchange():
    """Topic permissions on marketplace.events: a service's routing keys (its event types) and no others'."""
    topics = {(t["user"], t["exchange"]): t for t in definitions()["topic_permissions"]}
    assert set(topics) == {(service, EVENTS) for service in SERVICES}
    assert all(t["vhost"] == "marketplace" for t in topics.values())
    for service in SERVICES:
        granted = topics[(service, EVENTS)]
        for type_, owner in OWNERS.items():
            assert bool(re.search(granted["write"], type_)) == (owner == service), (service, type_)
        assert not re.search(granted["write"], f"x{service}.user.registered")
        assert re.search(granted["read"], "#"), "its queues bind any producer's types, and the audit queue everything"


def test_the_operator_may_do_everything_in_the_vhost():
    operator = permissions()["operator"]
    assert operator["configure"] == operator["write"] == operator["read"] == ".*"


def test_the_renderer_hashes_each_password_the_way_rabbitmq_checks_it():
    import base64
    import hashlib

    render = render_definitions_module()
    env = {render.variable(user["name"]): f"secret-{user['name']}" for user in definitions()["users"]}
    rendered = render.render(definitions(), env)
    for user in rendered["users"]:
        raw = base64.b64decode(user["password_hash"])
        salt, digest = raw[:4], raw[4:]
        assert digest == hashlib.sha256(salt + f"secret-{user['name']}".encode()).digest()
        assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert rendered["permissions"] == definitions()["permissions"]
    with pytest.raises(SystemExit, match="RABBITMQ_PAYMENTS_PASSWORD"):
        render.render(definitions(), {k: v for k, v in env.items() if k != "RABBITMQ_PAYMENTS_PASSWORD"})


@pytest.mark.amqp
def test_on_a_real_broker_each_service_user_can_run_its_service_and_nothing_more(broker):
    """The imported definitions, used for real: the operator declares the topology; each service
    user declares what its worker declares, publishes what it publishes, consumes its own queue,
    and is refused another service's events, another service's queues and its own dead letters."""
    from amqp.exceptions import AccessRefused
    from kombu import Connection, Producer, Queue

    from marketplace.registry import available
    from shared.bus.amqp import AmqpBus, declare_all

    found = available()
    declare_all(Settings(amqp_url=broker["url"]("operator")),
                {name: sorted(service.handlers) for name, service in found.items()})
    for name in SERVICES:
        url = broker["url"](name)
        bus = AmqpBus(Settings(amqp_url=url))
        bus.declare(name, sorted(found[name].handlers))  # what the worker does on every connect
        with Connection(url, transport_options={"confirm_publish": True}) as connection:
            producer = Producer(connection.channel())
            producer.publish(b"{}", exchange=bus.exchange, routing_key=f"{name}.deploy.checked", mandatory=True)
            producer.publish(b"{}", exchange="", routing_key=topology.retry_queue_name(name, DELAYS[0]), mandatory=True)
            producer.publish(b"{}", exchange=DEAD, routing_key=name, mandatory=True)
            Queue(topology.events_queue_name(name), channel=connection.channel()).get()
        other = SERVICES[(SERVICES.index(name) + 1) % len(SERVICES)]
        with Connection(url, transport_options={"confirm_publish": True}) as connection, pytest.raises(AccessRefused):
            Producer(connection.channel()).publish(b"{}", exchange=bus.exchange, routing_key=f"{other}.deploy.forged")
        for queue, action in ((topology.events_queue_name(other), "declare"), (topology.events_queue_name(other), "get"),
                              (topology.dead_queue_name(name), "get")):
            with Connection(url) as connection, pytest.raises(AccessRefused):
                getattr(Queue(queue, durable=True, channel=connection.channel()), action)()
