"""Contracts under test, its worker running, with a desk that plays jobs and payments around it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts import SERVICE
from services.contracts.settings import ContractsSettings
from tests.contracts.helpers import Desk


# Ordering: `harness` is asked for last so its workers stop before the queues and databases go.
@pytest.fixture
def make_contracts_live(private_bus, make_pg_database, harness):
    """`make_contracts_live(**own settings)`: contracts on PostgreSQL and RabbitMQ with its worker running
    (`retry_delays=` changes the kit's retry tiers)."""

    def make(retry_delays: tuple[timedelta, ...] | None = None, **own) -> Desk:
        settings = private_bus.settings if retry_delays is None else private_bus.settings.replace(
            retry_delays=retry_delays)
        built = harness(private_bus.service(SERVICE, settings), settings, make_pg_database("contracts"),
                        service_settings=ContractsSettings(**own))
        built.start_worker()
        return Desk(built)

    return make


@pytest.fixture
def make_contracts(settings, make_sqlite_database, harness):
    """`make_contracts(**own settings)`: contracts on SQLite and the embedded bus with its worker running."""

    def make(**own) -> Desk:
        built = harness(SERVICE, settings, make_sqlite_database("contracts"), service_settings=ContractsSettings(**own))
        built.start_worker()
        return Desk(built)

    return make


@pytest.fixture(params=["live", "embedded"])
def make_any_contracts(request):
    """`make_any_contracts(**own settings)`: the story on each backend in turn (RabbitMQ and PostgreSQL,
    then SQLite and the embedded bus)."""
    return request.getfixturevalue("make_contracts_live" if request.param == "live" else "make_contracts")


@pytest.fixture
def contracts(make_contracts) -> Desk:
    return make_contracts()


@pytest.fixture
def contracts_live(make_contracts_live) -> Desk:
    return make_contracts_live()
