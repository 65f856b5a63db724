"""jobs, contracts and payments together: each with its own database and worker, one bus between them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts import SERVICE as CONTRACTS
from services.jobs import SERVICE as JOBS
from services.payments import SERVICE as PAYMENTS
from services.payments.bank import SandboxBank
from services.payments.settings import PaymentsSettings
from shared.bus.embedded import EmbeddedBus
from tests.e2e.helpers import Market


def _own(service, **payments) -> dict:
    """Payments with a sandbox bank that answers at once, and its own settings changed by `payments`."""
    if service is PAYMENTS:
        return {"service_settings": PaymentsSettings(**payments),
                "collaborators": {"bank": SandboxBank(delay=(0.0, 0.0))}}
    return {}


# Ordering: `harness` is asked for last so the workers stop before the queues and databases go.
@pytest.fixture
def market_live(private_bus, make_pg_database, harness) -> Market:
    """The three services of a hire against RabbitMQ and PostgreSQL, workers running; a payout hold of 1s."""
    return _started({service.name: harness(private_bus.service(service), private_bus.settings,
                                           make_pg_database(service.name),
                                           **_own(service, payout_hold=timedelta(seconds=1)))
                     for service in (JOBS, CONTRACTS, PAYMENTS)})


@pytest.fixture
def market(settings, make_sqlite_database, harness) -> Market:
    """The same three services the way `marketplace dev` runs them: SQLite and one in-process bus."""
    shared = EmbeddedBus()
    return _started({service.name: harness(service, settings, make_sqlite_database(service.name), bus=shared,
                                           **_own(service))
                     for service in (JOBS, CONTRACTS, PAYMENTS)})


def _started(built: dict) -> Market:
    for service in built.values():
        service.start_worker()
    return Market(**built)
