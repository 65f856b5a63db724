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
import functools
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
        database = Database(database_on_server(pg_server_url, name), pool_size=20, max_overflow=20)
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


RETRY_DELAYS = "0.1s,0.2s,0.3s"


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Embedded-mode settings with short timers, keys and data kept in the test's own folder."""
    return Settings.from_env({"VAR_DIR": str(tmp_path / "var"), "RETRY_DELAYS": RETRY_DELAYS}).replace(
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


# `make test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadgroup`). A test module may
# run beside any other, except where both would hold what the machine has only one of; the modules
# that do form a group, run one after another on one worker:
# - `shared`: the tests' broker under the services' own names (a `payments_live` consumes the
#   queue `payments`), and the default ports 8000-8006 that `marketplace dev` and `stack` and the
#   compose commands take. A bus of the test's own (`private_bus`, a vhost of its own, or
#   tests/deploy's broker users and vhost made under unique names) is no one else's.
# - `engine`: the modules that may need the Docker engine, its one-time setup (deploy/local-engine.sh)
#   and its load.
# The groups are by path, since the scheduler sees only test ids; collection checks the list (below).
SHARED = (
    "tests/bench/test_bus_part.py", "tests/faults/test_dispute_faults.py", "tests/faults/test_faults.py",
    "tests/faults/test_hourly_faults.py", "tests/faults/test_soak.py", "tests/jobs/test_reactions.py",
    "tests/kit/test_amqp_consumer.py", "tests/kit/test_amqp_migration.py", "tests/kit/test_amqp_outbox.py",
    "tests/kit/test_amqp_topology.py", "tests/kit/test_batches.py", "tests/kit/test_forged_events.py", "tests/kit/test_worker_probes.py",
    "tests/messages/test_events.py", "tests/messages/test_stream.py", "tests/payments/test_end_to_end.py",
    "tests/payments/test_hourly_events.py", "tests/platform/test_demo.py", "tests/platform/test_dlq.py",
    "tests/platform/test_stack.py", "tests/reviews/test_events.py", "tests/users/test_events_on_rabbitmq.py",
    # the default ports
    "tests/platform/test_dev.py", "tests/deploy/test_compose_run.py",
)
ENGINE = ("tests/deploy/test_compose_real.py", "tests/deploy/test_nginx.py", "tests/deploy/test_testcontainers.py")
OWN_BUS = {"private_bus", "private_vhost"}


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def worker_group(nodeid: str) -> str:
    """The unit of work a test belongs to: its module's group, else the module itself."""
    path = module_of(nodeid)
    return "engine" if path in ENGINE else "shared" if path in SHARED else path


def shares_the_broker(item: pytest.Item) -> bool:
    return "amqp_url" in item.fixturenames and not module_of(item.nodeid).startswith("tests/deploy/") and not (
        OWN_BUS & set(item.fixturenames))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the shared broker in a module the groups do not name would run beside another such."""
    unlisted = sorted({module_of(item.nodeid) for item in items if shares_the_broker(item)} - set(SHARED))
    if unlisted:
        raise pytest.UsageError(f"{', '.join(unlisted)}: tests on the shared broker; add to SHARED in tests/conftest.py")


@pytest.fixture(autouse=True)
def _services_queues_empty(request):
    """A test on the shared broker starts with the services' own queues empty. They are durable and bound
    whether or not anything consumes them, so they keep what the tests before (and earlier runs) published
    under the services' names; a `messages_live` would otherwise work through that backlog before reaching
    its own test's events."""
    if shares_the_broker(request.node):
        from tests.support import empty_queues

        empty_queues(request.getfixturevalue("amqp_url"), _services_queues())


@functools.cache
def _services_queues() -> list[str]:
    """Every service's queues under the default retry delays and the tests' own."""
    from marketplace.registry import NAMES
    from tests.support import service_queues

    both = (Settings(), Settings.from_env({"RETRY_DELAYS": RETRY_DELAYS}))
    return list(dict.fromkeys(queue for name in NAMES for settings in both for queue in service_queues(name, settings)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """`--dist loadgroup` by the groups above (the `xdist_group` mark does not reach this pytest's ids)."""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

    return ByGroup(config, log)
