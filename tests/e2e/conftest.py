"""jobs, contracts and payments together: each with its own database and worker, one broker between them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.contracts.isolation import private_bus
from tests.e2e.market import Market


@pytest.fixture
def bus(amqp_settings):
    """RabbitMQ with an exchange and queues of this test's own."""
    with private_bus(amqp_settings) as made:
        yield made


# Ordering: `harness` is asked for last so the workers stop before the queues and databases go.
@pytest.fixture
def market(bus, make_pg_database, harness):
    """`market(**settings)`: the three services of a hire against RabbitMQ and PostgreSQL, workers running."""
    from services.contracts import SERVICE as CONTRACTS
    from services.jobs import SERVICE as JOBS
    from services.payments import SERVICE as PAYMENTS

    def make(**changes) -> Market:
        settings = bus.settings.replace(payout_hold=timedelta(seconds=1), **changes)
        return _started({service.name: harness(bus.service(service, settings), settings,
                                               make_pg_database(service.name))
                         for service in (JOBS, CONTRACTS, PAYMENTS)})

    return make


@pytest.fixture
def embedded_market(settings, make_sqlite_database, harness):
    """The same three services the way `marketplace dev` runs them: SQLite and one in-process bus."""
    from services.contracts import SERVICE as CONTRACTS
    from services.jobs import SERVICE as JOBS
    from services.payments import SERVICE as PAYMENTS
    from shared.bus.embedded import EmbeddedBus

    shared = EmbeddedBus()
    return _started({service.name: harness(service, settings, make_sqlite_database(service.name), bus=shared)
                     for service in (JOBS, CONTRACTS, PAYMENTS)})


def _started(built: dict) -> Market:
    from services.payments.bank import SandboxBank

    built["payments"].runtime.bank = SandboxBank(delay=(0.0, 0.0))
    for service in built.values():
        service.start_worker()
    return Market(**built)
