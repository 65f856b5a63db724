"""Fixtures of the kit's tests: toy services on real RabbitMQ, PostgreSQL and SQLite."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.bus.amqp import AmqpBus
from shared.bus.embedded import EmbeddedBus
from shared.db import Database, database_on_server, drop_database, normalize_url
from tests.infra import unique
from tests.kit.helpers import Broker, Kit, service_queues

log = logging.getLogger(__name__)


@pytest.fixture(scope="session")
def kit_pg_url(pg_server_url):
    """One PostgreSQL database for the kit's tests, dropped at the end of the run.

    Creating a database takes up to a second on a busy server; a schema takes milliseconds.
    """
    name = unique("t_kit")
    url = normalize_url(database_on_server(pg_server_url, name))
    yield url
    drop_database(pg_server_url, name)


@pytest.fixture
def make_pg_schema(kit_pg_url):
    """Fresh, empty PostgreSQL databases as a toy service sees them: a schema of its own on its search path."""
    admin = sa.create_engine(kit_pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    made: list[tuple[str, Database]] = []

    def make() -> Database:
        schema = unique("svc")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        database = Database(kit_pg_url.update_query_dict({"options": f"-csearch_path={schema}"}))
        made.append((schema, database))
        return database

    yield make
    for schema, database in made:
        database.dispose()
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql("SET lock_timeout = '5s'")
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        except sa.exc.DBAPIError as error:  # still in use: it goes with the whole database at the end
            log.warning("could not drop schema %s: %s", schema, error)
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def make_any_database(request):
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        make = request.getfixturevalue("make_sqlite_database")
        return lambda: make("kit")
    return request.getfixturevalue("make_pg_schema")


@pytest.fixture
def no_migrations(tmp_path) -> Path:
    """A toy service has no tables of its own: an empty folder of migrations."""
    path = tmp_path / "toy_migrations"
    path.mkdir()
    return path


@pytest.fixture
def broker(amqp_url):
    """A pika connection of the test's own; deletes what the test declared when it ends."""
    broker = Broker(amqp_url)
    yield broker
    broker.close()


@pytest.fixture
def bus_settings(amqp_settings, broker):
    """RabbitMQ settings with an events exchange of the test's own, so no other run sees its events."""
    exchange = unique("kit.events")
    broker.delete_exchange_later(exchange)
    return amqp_settings.replace(exchange=exchange)


@pytest.fixture
def amqp_kit(bus_settings, broker, make_pg_schema, no_migrations):
    """Toy services on RabbitMQ, each with a fresh PostgreSQL schema; their queues are deleted afterwards."""
    kit = Kit(bus_settings, no_migrations,
              database=lambda service: make_pg_schema(),
              bus=lambda: AmqpBus(bus_settings),
              on_service=lambda service: broker.delete_later(*service_queues(service.name, bus_settings)))
    yield kit
    kit.close()


@pytest.fixture
def pg_kit(settings, make_pg_schema, no_migrations):
    """Toy services on fresh PostgreSQL schemas, with no broker (for timers)."""
    kit = Kit(settings, no_migrations, database=lambda service: make_pg_schema(), bus=EmbeddedBus)
    yield kit
    kit.close()


@pytest.fixture
def db_kit(settings, make_any_database, no_migrations):
    """Toy services on SQLite and on PostgreSQL (each test that takes it runs on both)."""
    kit = Kit(settings, no_migrations, database=lambda service: make_any_database(), bus=EmbeddedBus)
    yield kit
    kit.close()


class EmbeddedKit(Kit):
    """Toy services in one process on the embedded bus, each with its SQLite file under the test's folder."""

    def __init__(self, settings, migrations):
        super().__init__(settings, migrations, database=lambda service: Database(settings.database_url(service.name)),
                         bus=lambda: self.bus)
        self.bus = EmbeddedBus()

    def restart(self) -> None:
        """A new process: stop every worker; what was queued in memory is gone, the files stay."""
        for worker in self.workers:
            worker.stopping.set()
        for worker in self.workers:
            worker.stop()
        self.bus = EmbeddedBus()


@pytest.fixture
def embedded_kit(settings, no_migrations):
    assert settings.embedded
    kit = EmbeddedKit(settings, no_migrations)
    yield kit
    kit.close()
