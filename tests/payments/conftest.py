"""Payments fixtures: the service on SQLite or PostgreSQL, a quick sandbox bank, the books checked after each test."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.payments import SERVICE, ledger
from services.payments.bank import SandboxBank
from tests.payments.story import Books


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


def _books(harness, settings, database, bank_delay=(0.0, 0.0)) -> Books:
    built = harness(SERVICE, settings, database)
    built.runtime.bank = SandboxBank(delay=bank_delay)
    return Books(built)


@pytest.fixture
def books(harness, settings, make_sqlite_database) -> Books:
    """Payments on SQLite with the embedded bus: for the API and what it does to the books."""
    return _books(harness, settings, make_sqlite_database("payments"))


@pytest.fixture
def pg_books(harness, settings, make_pg_database) -> Books:
    """Payments on PostgreSQL, events handed straight to its consumer: for handlers and races."""
    return _books(harness, settings, make_pg_database("payments"))


@pytest.fixture
def make_books(harness, settings, make_database):
    """Payments on each backend in turn, with settings a test may change (e.g. a short payout hold)."""

    def make(**changes) -> Books:
        return _books(harness, settings.replace(**changes), make_database("payments"))

    return make
