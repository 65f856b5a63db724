"""Payments fixtures: the service on SQLite, PostgreSQL or RabbitMQ, a quick bank, the books checked after each test."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.payments import SERVICE, ledger
from services.payments.bank import SandboxBank
from services.payments.settings import PaymentsSettings
from tests.payments.helpers import Books


def assert_books_balance(databases) -> None:
    """Every invariant of the ledger holds on each payments database (one snapshot each, workers or not)."""
    for database in databases:
        if "accounts" not in sa.inspect(database.engine).get_table_names():
            continue
        report = ledger.check_database(database)
        assert report["balanced"], report
        assert not report["negative_accounts"], report


# Ordering: the books are checked in these databases' own teardown, the last moment before they are
# dropped, so every payments test that used a database is checked without asking for it.
@pytest.fixture
def make_pg_database(make_pg_database):
    made = []

    def make(prefix: str = "test"):
        made.append(make_pg_database(prefix))
        return made[-1]

    yield make
    assert_books_balance(made)


@pytest.fixture
def make_sqlite_database(make_sqlite_database):
    made = []

    def make(prefix: str = "test"):
        made.append(make_sqlite_database(prefix))
        return made[-1]

    yield make
    assert_books_balance(made)


def _payments(harness, settings, database, **own) -> Books:
    """Payments on `database`, its own settings changed by `own`, with a sandbox bank that answers at once."""
    return Books(harness(SERVICE, settings, database, service_settings=PaymentsSettings(**own),
                         collaborators={"bank": SandboxBank(delay=(0.0, 0.0))}))


@pytest.fixture
def payments(harness, settings, make_sqlite_database) -> Books:
    """Payments on SQLite with the embedded bus: for the API and what it does to the books."""
    return _payments(harness, settings, make_sqlite_database("payments"))


@pytest.fixture
def payments_pg(harness, settings, make_pg_database) -> Books:
    """Payments on PostgreSQL, events handed straight to its consumer: for handlers and races."""
    return _payments(harness, settings, make_pg_database("payments"))


@pytest.fixture
def make_any_payments(harness, settings, make_database):
    """`make_any_payments(**own settings)`: payments on each backend in turn (e.g. a short payout hold)."""

    def make(**own) -> Books:
        return _payments(harness, settings, make_database("payments"), **own)

    return make


@pytest.fixture
def make_payments_live(harness, amqp_settings, make_pg_database):
    """`make_payments_live(**own settings)`: payments on PostgreSQL and RabbitMQ, its worker consuming;
    its bank is the sandbox it declares, which takes its moment."""

    def make(**own) -> Books:
        built = harness(SERVICE, amqp_settings, make_pg_database("payments"), service_settings=PaymentsSettings(**own))
        built.start_worker()
        return Books(built)

    return make
