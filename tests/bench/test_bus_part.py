"""The bench's bus part still measures what it claims: a few events through the whole path and the drain, and
its baselines moving the same bodies. Nothing here is about speed; that is `make bench`'s job."""
from __future__ import annotations

import pytest

from bench import bus
from tests import infra
from tests.faults.suite import Broker

pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres]
EVENTS = 40


@pytest.fixture
def scratch(amqp_url, pg_server_url):
    if not Broker.of(amqp_url).vhosts().usable():
        infra.unavailable("RabbitMQ's vhost management (rabbitmqctl or the management API)")
    with bus.scratch(amqp_url, pg_server_url) as made:
        yield made


@pytest.mark.parametrize("batch", [None, 1], ids=["batches", "one-at-a-time"])
def test_every_event_crosses_the_whole_path_once(scratch, batch):
    vhost_url, database = scratch
    path = bus.whole_path(vhost_url, database("source"), database("sink"), EVENTS, batch=batch)
    assert path["handled"] == EVENTS
    assert 0 < path["p50_ms"] <= path["p99_ms"]


def test_the_relay_drains_a_filled_outbox(scratch):
    vhost_url, database = scratch
    assert bus.drain(vhost_url, database("source"), database("sink"), EVENTS)["handled"] == EVENTS


def test_the_baselines_move_the_same_bodies(scratch):
    vhost_url, database = scratch
    for confirm in (True, False):
        assert bus.raw_pika(vhost_url, bus.body(), EVENTS, confirm=confirm)["messages_per_s"] > 0
    commits = bus.raw_commits(database("raw"), bus.body(), connections=2, seconds=0.3)
    assert commits["commits_per_s"] > 0 and commits["p50_ms"] is not None
