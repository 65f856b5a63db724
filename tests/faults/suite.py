"""The whole suite as operators run it (gunicorn APIs and workers as processes), behind proxies the tests control."""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from marketplace.registry import NAMES as SERVICES
from shared.config import Settings
from shared.db import drop_database, ensure_database, normalize_url
from shared.dlq import AmqpDeadLetters
from tests.faults.proxy import Proxy
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_EMAIL, ADMIN_PASSWORD = "faults-admin@example.com", "faults-admin-password"
# The scenarios heal by redelivery, the sweep and replays alone and count one event id per saga
# step, so contracts' re-sends past a deadline (new ids, by design) are kept out of their time frame;
# the re-sends have their own stories (tests/contracts/test_deadlines.py, tests/e2e/test_stuck_sagas.py).
DEFAULT_ENV = {"PAYOUT_HOLD": "2s", "RETRY_DELAYS": "0.5s,1s,2s", "LOG_LEVEL": "INFO", "SAGA_RESEND_AFTER": "30m",
               "SAGA_RESEND_MAX": "1h"}


def _die_with_parent() -> None:
    os.setsid()  # its own process group, so gunicorn's children die with it
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, so every child is forked by
# this one long-lived thread, never by a test's short-lived fault thread.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faults-spawner")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


class Vhosts:
    """Makes and deletes the test's own vhost: with `rabbitmqctl` when it is here, else the management API
    (`RABBITMQ_MANAGEMENT_URL`, default port 15672 of the broker's host)."""

    def __init__(self, host: str, user: str, password: str):
        self.user, self.auth = user, (user, password)
        self.api = os.environ.get("RABBITMQ_MANAGEMENT_URL", f"http://{host}:15672").rstrip("/")

    def usable(self) -> bool:
        if shutil.which("rabbitmqctl"):
            return True
        try:
            return requests.get(f"{self.api}/api/overview", auth=self.auth, timeout=3).ok
        except requests.RequestException:
            return False

    def add(self, vhost: str) -> None:
        if shutil.which("rabbitmqctl"):
            rabbitmqctl("add_vhost", vhost)
            rabbitmqctl("set_permissions", "-p", vhost, self.user, ".*", ".*", ".*")
            return
        requests.put(f"{self.api}/api/vhosts/{vhost}", auth=self.auth, timeout=30).raise_for_status()
        requests.put(f"{self.api}/api/permissions/{vhost}/{self.user}", auth=self.auth, timeout=30,
                     json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()

    def delete(self, vhost: str) -> None:
        if shutil.which("rabbitmqctl"):
            rabbitmqctl("delete_vhost", vhost)
        else:
            requests.delete(f"{self.api}/api/vhosts/{vhost}", auth=self.auth, timeout=30)


@dataclass(frozen=True)
class Broker:
    """Where a broker URL points: its address and credentials, URLs for its vhosts, and their management."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def of(cls, amqp_url: str) -> Broker:
        parts = urlsplit(amqp_url.replace("amqp://", "http://", 1))
        return cls(parts.hostname or "127.0.0.1", parts.port or 5672, parts.username or "guest",
                   parts.password or "guest")

    @property
    def credentials(self) -> str:
        return f"{self.user}:{self.password}"

    def url(self, vhost: str) -> str:
        return f"amqp://{self.credentials}@{self.host}:{self.port}/{vhost}"

    def vhosts(self) -> Vhosts:
        return Vhosts(self.host, self.user, self.password)


def regardless(*steps: Callable[[], object]) -> None:
    """Tear-down: run every step, whatever the ones before it raised."""
    for step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - tear everything down regardless
            pass


def signing_keys() -> dict[str, str]:
    """A fresh Ed25519 key pair, as the services read it from the environment."""
    key = Ed25519PrivateKey.generate()
    return {
        "JWT_PRIVATE_KEY": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode(),
        "JWT_PUBLIC_KEY": key.public_key().public_bytes(serialization.Encoding.PEM,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
    }


@dataclass
class Process:
    """One process of the suite (an API or a worker); each start is a new incarnation."""

    label: str
    argv: list[str]
    log_dir: Path
    metrics_port: int | None = None
    popen: subprocess.Popen | None = None
    starts: int = 0
    kills: int = 0
    counters: list[dict] = field(default_factory=list)  # the last scrape of each incarnation

    def start(self, env: dict) -> Process:
        self.starts += 1
        argv = list(self.argv)
        if self.metrics_port is not None:
            self.metrics_port = free_port()
            argv += ["--metrics-port", str(self.metrics_port)]
            self.counters.append({})
        log = open(self.log_dir / f"{self.label}.log", "a")
        log.write(f"--- start {self.starts} at {time.strftime('%H:%M:%S')}\n")
        log.flush()
        self.popen = _SPAWNER.submit(subprocess.Popen, argv, env=env, cwd=self.log_dir, stdout=log,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent).result()
        log.close()
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, to the whole process group: no clean shutdown, no last words."""
        if self.metrics_port is not None:
            self.scrape()
        if self.popen is not None and self.popen.poll() is None:
            self.kills += 1
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)

    def stop(self) -> None:
        """Stop it cleanly and wait (the bench stops its processes one by one with this)."""
        self.ask_to_stop()
        self.wait_stopped()

    def ask_to_stop(self) -> None:
        """A last scrape, then SIGTERM: its clean shutdown begins (`wait_stopped` waits for it)."""
        if self.popen is not None and self.popen.poll() is None:
            if self.metrics_port is not None:
                self.scrape()
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def wait_stopped(self) -> None:
        """Until it has exited, and SIGKILL if a clean shutdown takes more than 15 s."""
        if self.popen is None:
            return
        try:
            self.popen.wait(15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)

    def scrape(self) -> dict:
        """This incarnation's worker counters, kept so a later SIGKILL does not lose what it counted."""
        try:
            text = requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except requests.RequestException:
            return self.counters[-1] if self.counters else {}
        found: dict = {}
        for name, labels, value in re.findall(r'^(events_\w+_total)\{([^}]*)\} ([0-9.e+]+)$', text, re.MULTILINE):
            outcome = re.search(r'outcome="(\w+)"', labels)
            key = f"{name}:{outcome.group(1)}" if outcome else name
            found[key] = found.get(key, 0) + float(value)
        if self.counters:
            self.counters[-1] = found
        return found

    def counted(self, key: str) -> int:
        return int(sum(incarnation.get(key, 0) for incarnation in self.counters))


class Suite:
    """Five services as gunicorn APIs and workers, RabbitMQ through a proxy on a vhost of their own,
    one PostgreSQL database per service, each through its own proxy, under a role that is not a superuser."""

    def __init__(self, tmp_path: Path, amqp_url: str, pg_server_url: str, *, workers: dict[str, int] | None = None,
                 env: dict[str, str] | None = None):
        self.dir = tmp_path
        self.suffix = uuid.uuid4().hex[:10]
        self.vhost = f"faults_{self.suffix}"
        self.role = f"faults_{self.suffix}"
        self.workers_per_service = {name: 1 for name in SERVICES} | (workers or {})
        self.broker = Broker.of(amqp_url)
        self.broker_address = (self.broker.host, self.broker.port)
        self.vhosts = self.broker.vhosts()
        self.pg_server = normalize_url(pg_server_url)
        self.databases = {name: f"faults_{self.suffix}_{name}" for name in SERVICES}
        self.api_ports = {name: free_port() for name in SERVICES}
        self.extra_env = {**DEFAULT_ENV, **(env or {})}
        self.broker_proxy: Proxy | None = None
        self.db_proxies: dict[str, Proxy] = {}
        self.apis: dict[str, Process] = {}
        self.workers: dict[str, list[Process]] = {}
        self.started_at = time.monotonic()

    # Bring-up ---------------------------------------------------------------------------

    @property
    def direct_amqp_url(self) -> str:
        return self.broker.url(self.vhost)

    @property
    def amqp_url(self) -> str:
        """What the suite's processes use: through the proxy."""
        return f"amqp://{self.broker.credentials}@127.0.0.1:{self.broker_proxy.port}/{self.vhost}"

    def database_url(self, service: str, *, direct: bool = False) -> str:
        if direct:
            return self.pg_server.set(database=self.databases[service]).render_as_string(hide_password=False)
        return self.pg_server.set(host="127.0.0.1", port=self.db_proxies[service].port, username=self.role,
                                  password="faults-password", database=self.databases[service]
                                  ).render_as_string(hide_password=False)

    def up(self) -> Suite:
        self.vhosts.add(self.vhost)
        self.broker_proxy = Proxy(self.broker_address, "broker")
        self.sql(f"CREATE ROLE {self.role} LOGIN PASSWORD 'faults-password'")
        for name, database in self.databases.items():
            ensure_database(self.pg_server, database)
            self.db_proxies[name] = Proxy((self.pg_server.host or "127.0.0.1", self.pg_server.port or 5432), f"pg-{name}")
        self.keys = signing_keys()
        # The operator's order: migrate (as the owner), declare the topology, then start the processes.
        self.cli("migrate", direct=True)
        self.cli("topology", direct=True)
        for name in SERVICES:
            self.sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {self.role}; "
                     f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {self.role}", database=name)
        me = [sys.executable, "-m", "marketplace.cli"]
        for name in SERVICES:
            self.apis[name] = Process(f"{name}-api", [*me, "api", name, "--host", "127.0.0.1", "--port",
                                                      str(self.api_ports[name]), "--workers", "1"], self.dir)
            self.workers[name] = [Process(f"{name}-worker-{i + 1}", [*me, "worker", name], self.dir, metrics_port=0)
                                  for i in range(self.workers_per_service[name])]
        for process in self.processes:
            process.start(self.env)
        self.wait_ready()
        return self

    @property
    def processes(self) -> list[Process]:
        return [*self.apis.values(), *(worker for workers in self.workers.values() for worker in workers)]

    @property
    def env(self) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DATABASE_URL", "AMQP_URL", "MARKETPLACE_", "PROMETHEUS_MULTIPROC_DIR"))}
        env.update(self.extra_env)
        env.update(self.keys, AMQP_URL=self.amqp_url, VAR_DIR=str(self.dir / "var"),
                   ADMIN_EMAIL=ADMIN_EMAIL, ADMIN_PASSWORD=ADMIN_PASSWORD, PYTHONPATH=str(ROOT))
        env.update({f"DATABASE_URL_{name.upper()}": self.database_url(name) for name in SERVICES})
        return env

    def cli(self, *args: str, direct: bool = False, check: bool = True) -> subprocess.CompletedProcess:
        env = self.env
        if direct:
            env.update({f"DATABASE_URL_{name.upper()}": self.database_url(name, direct=True) for name in SERVICES},
                       AMQP_URL=self.direct_amqp_url)
        done = subprocess.run([sys.executable, "-m", "marketplace.cli", *args], env=env, cwd=self.dir,
                              capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, f"marketplace {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    def sql(self, statement: str, database: str | None = None) -> None:
        url = self.pg_server.set(database=self.databases[database] if database else "postgres")
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.api_ports[service]}"

    def unsent(self) -> dict[str, int]:
        """Each service's outbox rows not yet published (a worker killed between its commit and its publish
        leaves its events there for the sweep, a few seconds after its restart)."""
        counts = {}
        for name in SERVICES:
            engine = sa.create_engine(self.database_url(name, direct=True), poolclass=sa.pool.NullPool)
            try:
                with engine.connect() as conn:
                    counts[name] = conn.execute(sa.text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar()
            finally:
                engine.dispose()
        return counts

    def wait_published(self, bus, timeout: float = 60) -> None:
        """Until every outbox is published and the observer has seen nothing new for a moment: only then does
        what is on the bus say what the suite did."""
        deadline = time.monotonic() + timeout
        while (left := {name: n for name, n in self.unsent().items() if n}) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not left, f"events never published: {left}"
        seen = -1
        while seen != len(bus.events) and time.monotonic() < deadline:
            seen = len(bus.events)
            time.sleep(0.5)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for name, api in self.apis.items():
            while True:
                assert api.alive, f"{api.label} exited: {self.log(api.label)[-3000:]}"
                try:
                    if requests.get(f"{self.url(name)}/ready", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, f"{api.label} never became ready: {self.log(api.label)[-3000:]}"
                time.sleep(0.2)
        for worker in (w for ws in self.workers.values() for w in ws):
            self.wait_worker(worker, deadline)

    def wait_worker(self, worker: Process, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + 60
        while True:
            assert worker.alive, f"{worker.label} exited: {self.log(worker.label)[-3000:]}"
            try:
                requests.get(f"http://127.0.0.1:{worker.metrics_port}/metrics", timeout=2)
                return
            except requests.RequestException:
                assert time.monotonic() < deadline, f"{worker.label} never started"
                time.sleep(0.2)

    def log(self, label: str) -> str:
        path = self.dir / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # Faults -----------------------------------------------------------------------------

    def kill(self, process: Process) -> None:
        process.kill()

    def restart(self, process: Process, *, wait: bool = True) -> None:
        process.kill()
        process.start(self.env)
        if wait and process.metrics_port is not None:
            self.wait_worker(process)
        elif wait:
            self.wait_ready()

    def add_worker(self, service: str) -> Process:
        workers = self.workers[service]
        worker = Process(f"{service}-worker-{len(workers) + 1}", workers[0].argv, self.dir, metrics_port=0)
        workers.append(worker.start(self.env))
        self.wait_worker(worker)
        return worker

    def dead_letters(self, service: str) -> AmqpDeadLetters:
        return AmqpDeadLetters(Settings(amqp_url=self.direct_amqp_url), service)

    def counted(self, key: str) -> int:
        return sum(worker.counted(key) for workers in self.workers.values() for worker in workers)

    def scrape_workers(self) -> None:
        for workers in self.workers.values():
            for worker in workers:
                if worker.alive:
                    worker.scrape()

    def check_alive(self) -> None:
        dead = [process.label for process in self.processes if not process.alive]
        assert not dead, f"{dead} died on their own: " + "\n".join(self.log(label)[-2000:] for label in dead)

    # Tear-down --------------------------------------------------------------------------

    def down(self) -> None:
        # Every process is asked first and waited for after: their clean shutdowns overlap.
        regardless(*(process.ask_to_stop for process in self.processes),
                   *(process.wait_stopped for process in self.processes),
                   *(proxy.close for proxy in [self.broker_proxy, *self.db_proxies.values()] if proxy is not None),
                   *(lambda database=database: drop_database(self.pg_server, database)
                     for database in self.databases.values()),
                   lambda: self.sql(f"DROP ROLE IF EXISTS {self.role}"),
                   lambda: self.vhosts.delete(self.vhost))
