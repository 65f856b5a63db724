"""The suite as separate processes against RabbitMQ and PostgreSQL, with faults the tests inject."""
from __future__ import annotations

import pytest

from tests import infra
from tests.faults.bus import BusObserver
from tests.faults.stories import Driver
from tests.faults.suite import Suite


@pytest.fixture
def marketplace(tmp_path, amqp_url, pg_server_url):
    """`marketplace(workers={...}, env={...}, duplicate=False)`: the suite up, a driver and a bus observer."""
    made: list[tuple[Suite, BusObserver]] = []

    def make(*, workers=None, env=None, duplicate: bool = False):
        suite = Suite(tmp_path, amqp_url, pg_server_url, workers=workers, env=env)
        if not suite.vhosts.usable():
            infra.unavailable("RabbitMQ's vhost management (rabbitmqctl or the management API)")
        made.append((suite, None))
        suite.up()
        bus = BusObserver(suite.direct_amqp_url, duplicate=duplicate).start()
        made[-1] = (suite, bus)
        return suite, Driver(suite), bus

    yield make
    for suite, bus in made:
        if bus is not None:
            bus.stop()
        suite.down()
