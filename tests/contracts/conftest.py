"""Contracts under test: the service, a bus of the test's own, and a desk that plays jobs and payments."""
from __future__ import annotations

import pytest

from services.contracts import SERVICE
from tests.contracts.desk import Desk
from tests.contracts.isolation import private_bus


@pytest.fixture
def bus(amqp_settings):
    """RabbitMQ with an exchange and queues of this test's own."""
    with private_bus(amqp_settings) as made:
        yield made


# Ordering: `harness` is asked for last so its workers stop before the queues and databases go.
@pytest.fixture
def pg_desk(bus, make_pg_database, harness):
    """`pg_desk(**settings)`: contracts on PostgreSQL and RabbitMQ with its worker running."""

    def make(**changes) -> Desk:
        settings = bus.settings.replace(**changes)
        built = harness(bus.service(SERVICE, settings), settings, make_pg_database("contracts"))
        built.start_worker()
        return Desk(built)

    return make


@pytest.fixture
def sqlite_desk(settings, make_sqlite_database, harness):
    """`sqlite_desk(**settings)`: contracts on SQLite and the embedded bus with its worker running."""

    def make(**changes) -> Desk:
        built = harness(SERVICE, settings.replace(**changes), make_sqlite_database("contracts"))
        built.start_worker()
        return Desk(built)

    return make


@pytest.fixture(params=["pg", "sqlite"])
def any_desk(request):
    """Runs the story on both backends."""
    return request.getfixturevalue(f"{request.param}_desk")


@pytest.fixture
def desk(pg_desk) -> Desk:
    return pg_desk()

