"""Fixtures every test builds from: real servers, fresh databases, settings for a test run.

Each service folder (tests/users, jobs, contracts, payments, reviews, e2e) names its fixtures the
same way, built on `harness` below, with its story helpers in its own `helpers.py`:

- `<svc>`: the service on SQLite with the embedded bus (the API stories);
- `<svc>_pg`: on PostgreSQL with the embedded bus, events handed to its consumer (races, locks);
- `<svc>_live`: on PostgreSQL and RabbitMQ with its worker consuming (the event stories);
- `any_<svc>`: each backend in turn, a parametrized fixture: the test runs once per database
  (in contracts, whose stories are about the bus: once embedded, once live);
- `make_<name>(**own)`: the same as `<name>` with the service's own settings changed, e.g.
  `make_any_payments(payout_hold=timedelta(seconds=1))`, `make_reviews_live(review_window=...)`.

A folder defines only those its stories use. The service's own settings (its `settings.py`) and
its collaborators (payments' bank and card processor) reach the service through
`harness(SERVICE, settings, database, service_settings=PaymentsSettings(...), collaborators={...})`;
without them it runs on its defaults, never on the developer's environment.
"""
from __future__ import annotations

import contextlib
import os
import threading
from datetime import timedelta

import pytest

from shared.config import Settings
from shared.db import Database, database_on_server, drop_database
from shared.provenance import Publishers
from tests import infra


@pytest.fixture(scope="session")
def containers():
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def amqp_url(containers) -> str:
    """The tests' broker. It has one user for every service: every producer publishes as it, in the
    settings below and in every process a test starts (AMQP_PUBLISHERS, unless set already)."""
    if os.environ.get("AMQP_URL", "").startswith("amqp"):
        url = os.environ["AMQP_URL"]
    elif infra.docker_answers():
        url = infra.start_rabbitmq(containers)
    else:
        infra.unavailable("RabbitMQ")
    os.environ.setdefault("AMQP_PUBLISHERS", f"*={infra.amqp_user(url)}")
    infra.shared_queues_as_declared(url)
    return url


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
    return settings.replace(amqp_url=amqp_url, publishers=Publishers.everyone(infra.amqp_user(amqp_url)))


@pytest.fixture
def harness():
    """`harness(service, settings, database, *, bus=, service_settings=, collaborators=)` builds a service
    for the test and stops it after."""
    from tests.support import Harness

    made: list[Harness] = []

    def make(service, settings, database, **kwargs) -> Harness:
        made.append(Harness(service, settings, database, **kwargs))
        return made[-1]

    yield make
    for built in reversed(made):
        built.stop()


@pytest.fixture
def private_bus(amqp_settings):
    """RabbitMQ with an exchange and queues of this test's own (`private_bus.service(SERVICE, settings)`),
    deleted after the test."""
    from tests.support import PrivateBus

    bus = PrivateBus(amqp_settings)
    yield bus
    bus.delete()


@pytest.fixture(scope="session")
def rogue_url(amqp_url) -> str:
    """A second broker user on the tests' vhost, made for this run with rabbitmqctl and removed after it:
    it may publish anywhere, and is no service's user."""
    with infra.broker_user(amqp_url, "rogue") as url:
        yield url


@pytest.fixture
def wire(amqp_url):
    """`wire.bind(routing_key)`, then `wire.wait_for(type, **data)`: the bus seen by an independent client."""
    from tests.support import Wire

    observer = Wire(amqp_url)
    yield observer
    observer.close()


@pytest.fixture
def serve():
    """`serve(wsgi_app)` -> its URL: the app on a loopback port of its own, threaded (as `marketplace dev`
    serves it), stopped after the test."""
    from werkzeug.serving import make_server

    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
