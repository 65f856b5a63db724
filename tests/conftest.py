"""Fixtures every test builds from: real servers, fresh databases, settings for a test run."""
from __future__ import annotations

import contextlib
import os
from datetime import timedelta

import pytest

from shared.config import Settings
from shared.db import Database, database_on_server, drop_database
from tests import infra


@pytest.fixture(scope="session")
def containers():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def amqp_url(containers) -> str:
    if os.environ.get("AMQP_URL", "").startswith("amqp"):
        return os.environ["AMQP_URL"]
    if infra.docker_answers():
        return infra.start_rabbitmq(containers)
    infra.unavailable("RabbitMQ")


@pytest.fixture(scope="session")
def pg_server_url(containers) -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if infra.docker_answers():
        return infra.start_postgres(containers)
    infra.unavailable("PostgreSQL")


@pytest.fixture
def make_pg_database(pg_server_url):
    """Fresh PostgreSQL databases, dropped after the test."""
    made: list[Database] = []

    def make(prefix: str = "test") -> Database:
        name = infra.unique(f"t_{prefix}")
        database = Database(database_on_server(pg_server_url, name), pool_size=20)
        database.test_name = name
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()
        drop_database(pg_server_url, database.test_name)


@pytest.fixture
def make_sqlite_database(tmp_path):
    made: list[Database] = []

    def make(prefix: str = "test") -> Database:
        database = Database(f"sqlite:///{tmp_path / infra.unique(prefix)}.sqlite")
        made.append(database)
        return database

    yield make
    for database in made:
        database.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def make_database(request):
    """Each test that takes this runs on both backends."""
    fixture = "make_sqlite_database" if request.param == "sqlite" else "make_pg_database"
    return request.getfixturevalue(fixture)


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Embedded-mode settings with short timers, keys and data kept in the test's own folder."""
    return Settings.from_env({"VAR_DIR": str(tmp_path / "var"), "RETRY_DELAYS": "0.1s,0.2s,0.3s"}).replace(
        timer_poll=timedelta(milliseconds=50), outbox_sweep=timedelta(milliseconds=200))


@pytest.fixture
def amqp_settings(settings, amqp_url) -> Settings:
    return settings.replace(amqp_url=amqp_url)


@pytest.fixture
def harness():
    """`harness(service, settings, database)` builds a service for the test and stops it after."""
    from tests.support import Harness

    made: list[Harness] = []

    def make(service, settings, database, **kwargs) -> Harness:
        made.append(Harness(service, settings, database, **kwargs))
        return made[-1]

    yield make
    for built in reversed(made):
        built.stop()


@pytest.fixture
def wire(amqp_url):
    """`wire.bind(routing_key)`, then `wire.wait_for(type, **data)`: the bus seen by an independent client."""
    from tests.support import Wire

    observer = Wire(amqp_url)
    yield observer
    observer.close()
