"""A worker's /health, /ready and /metrics (compose healthchecks and Kubernetes probes use them),
on real RabbitMQ and PostgreSQL: ready once its consumer is subscribed, not ready while its
database refuses connections, ready again when it is back."""
from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from shared.db import Database, database_on_server, drop_database, normalize_url
from shared.probes import serve_probes
from shared.worker import Worker
from tests.infra import unique
from tests.kit.helpers import REGISTERED, record
from tests.support import eventually

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]


@pytest.fixture
def own_database(pg_server_url):
    """A database of the test's own, and `cut(allowed)` to refuse (or allow again) connections to it."""
    name = unique("t_probes")
    url = database_on_server(pg_server_url, name)
    admin = sa.create_engine(normalize_url(pg_server_url).set(database="postgres"), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)

    def allow(allowed: bool) -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            if not allowed:
                connection.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                           "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})

    yield url, allow
    allow(True)
    admin.dispose()
    drop_database(pg_server_url, name)


@pytest.fixture
def probed(amqp_kit, own_database):
    """A worker on its own database, its probes served before it starts: (worker, base URL, allow)."""
    url, allow = own_database
    runtime = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: record}), database=Database(url))
    worker = Worker(runtime)
    server = serve_probes(worker, 0, "127.0.0.1")
    amqp_kit.workers.append(worker)  # stopped with the kit
    yield worker, f"http://127.0.0.1:{server.server_port}", allow
    server.shutdown()
    server.server_close()


def ready(base: str) -> requests.Response:
    return requests.get(f"{base}/ready", timeout=10)


def once(url: str, status: int, message: str) -> requests.Response:
    """The first answer of `url` with `status` (a 503 is a falsy Response: it is waited for in a list)."""
    return eventually(lambda: [r for r in [requests.get(url, timeout=10)] if r.status_code == status],
                      timeout=15, message=message)[0]


class TestWorkerProbes:
    def test_ready_only_once_the_consumer_is_subscribed(self, probed):
        worker, base, _ = probed
        before = ready(base)
        assert before.status_code == 503 and before.headers["Content-Type"] == "application/problem+json"
        assert before.json()["checks"] == {"database": "ok", "broker": "ok", "consumer": "failed: not subscribed"}
        assert "consumer" in before.json()["detail"]
        assert requests.get(f"{base}/health", timeout=5).status_code == 200

        worker.start()
        assert worker.consuming.wait(15)
        answer = once(f"{base}/ready", 200, "ready")
        assert answer.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok", "consumer": "ok"}}
        health = requests.get(f"{base}/health", timeout=5)
        assert health.json() == {"status": "ok", "service": worker.runtime.service.name}
        metrics = requests.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200 and "outbox_backlog" in metrics.text
        assert requests.get(f"{base}/elsewhere", timeout=5).status_code == 404

    def test_not_ready_while_its_database_refuses_connections_and_ready_again_after(self, probed):
        worker, base, allow = probed
        worker.start()
        once(f"{base}/ready", 200, "ready")

        allow(False)
        down = once(f"{base}/ready", 503, "not ready")
        assert down.json()["checks"]["database"].startswith("failed")
        assert down.json()["checks"]["consumer"] == down.json()["checks"]["broker"] == "ok"
        assert "database" in down.json()["detail"]
        assert requests.get(f"{base}/health", timeout=5).status_code == 200, "alive all the same: no restart"

        allow(True)
        once(f"{base}/ready", 200, "ready again")

    def test_a_stopped_loop_makes_it_unhealthy(self, probed):
        worker, base, _ = probed
        worker.start()
        assert requests.get(f"{base}/health", timeout=5).status_code == 200
        worker.stopping.set()  # every loop ends, as one that died would
        unhealthy = once(f"{base}/health", 503, "unhealthy")
        assert unhealthy.json()["detail"].startswith(f"Loops stopped: {worker.runtime.service.name}-")
