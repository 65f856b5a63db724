"""The real topology on this machine: each service's gunicorn API and workers as processes, a RabbitMQ
vhost and one PostgreSQL database per service of the run's own. No proxies: nothing between them but loopback."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from kombu import Connection

from marketplace.registry import NAMES as SERVICES
from shared.db import drop_database, ensure_database, normalize_url
from tests.ports import free_port
from tests.faults.suite import Broker, Process, regardless, signing_keys

ROOT = Path(__file__).resolve().parents[1]
ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@example.com", "bench-admin-password"
# The sagas run as in production but for the payout hold; retries stay short so a hiccup shows, not hides.
ENV = {"PAYOUT_HOLD": "1s", "RETRY_DELAYS": "0.5s,1s,2s", "LOG_LEVEL": "WARNING"}


class Topology:
    def __init__(self, run_dir: Path, amqp_url: str, pg_server_url: str, *, api_workers: int = 2,
                 api_threads: int = 4, workers: int = 1, env: dict[str, str] | None = None):
        self.dir = run_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.suffix = uuid.uuid4().hex[:8]
        self.vhost = f"bench_{self.suffix}"
        self.broker = Broker.of(amqp_url)
        self.vhosts = self.broker.vhosts()
        self.pg_server = normalize_url(pg_server_url)
        self.databases = {name: f"bench_{self.suffix}_{name}" for name in SERVICES}
        self.api_ports = {name: free_port() for name in SERVICES}
        self.api_workers, self.api_threads, self.workers_per_service = api_workers, api_threads, workers
        self.extra_env = {**ENV, **(env or {})}
        self.apis: dict[str, Process] = {}
        self.workers: dict[str, list[Process]] = {}
        self.keys = signing_keys()

    @property
    def amqp_url(self) -> str:
        return self.broker.url(self.vhost)

    def database_url(self, service: str) -> str:
        return self.pg_server.set(database=self.databases[service]).render_as_string(hide_password=False)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.api_ports[service]}"

    @property
    def env(self) -> dict:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DATABASE_URL", "AMQP_URL", "MARKETPLACE_", "PROMETHEUS_MULTIPROC_DIR"))}
        env.update(self.extra_env)
        # Every process connects as the one user of AMQP_URL, so every producer publishes as that user (as
        # `marketplace stack` runs it): the consumers' check of who published an event then holds.
        env.setdefault("AMQP_PUBLISHERS", f"*={Connection(self.amqp_url).userid}")
        env.update(self.keys, AMQP_URL=self.amqp_url, VAR_DIR=str(self.dir / "var"), PYTHONPATH=str(ROOT),
                   ADMIN_EMAIL=ADMIN_EMAIL, ADMIN_PASSWORD=ADMIN_PASSWORD)
        env.update({f"DATABASE_URL_{name.upper()}": self.database_url(name) for name in SERVICES})
        return env

    # Bring-up ---------------------------------------------------------------------------

    def up(self) -> Topology:
        self.vhosts.add(self.vhost)
        for database in self.databases.values():
            ensure_database(self.pg_server, database)
        self.cli("migrate")
        self.cli("topology")
        me = [sys.executable, "-m", "marketplace.cli"]
        for name in SERVICES:
            self.apis[name] = Process(f"{name}-api", [*me, "api", name, "--host", "127.0.0.1", "--port",
                                                      str(self.api_ports[name]), "--workers", str(self.api_workers),
                                                      "--threads", str(self.api_threads)], self.dir).start(self.env)
        self.scale(self.workers_per_service)
        self.wait_ready()
        return self

    def scale(self, workers: int) -> None:
        """Run `workers` worker processes per service (stopping or starting the difference)."""
        me = [sys.executable, "-m", "marketplace.cli"]
        for name in SERVICES:
            running = self.workers.setdefault(name, [])
            while len(running) > workers:
                running.pop().stop()
            while len(running) < workers:
                running.append(Process(f"{name}-worker-{len(running) + 1}", [*me, "worker", name], self.dir,
                                       metrics_port=0).start(self.env))
        self.workers_per_service = workers
        self.wait_ready()

    def cli(self, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "marketplace.cli", *args], env=self.env, cwd=self.dir,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"marketplace {' '.join(args)} failed: {done.stdout}{done.stderr}")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for name, api in self.apis.items():
            self._wait(api, f"{self.url(name)}/ready", deadline)
        for worker in self.all_workers:
            self._wait(worker, f"http://127.0.0.1:{worker.metrics_port}/metrics", deadline)

    def _wait(self, process: Process, url: str, deadline: float) -> None:
        while True:
            if not process.alive:
                raise RuntimeError(f"{process.label} exited: {self.log(process.label)[-3000:]}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{process.label} never became ready: {self.log(process.label)[-3000:]}")
            time.sleep(0.2)

    @property
    def all_workers(self) -> list[Process]:
        return [worker for workers in self.workers.values() for worker in workers]

    def log(self, label: str) -> str:
        path = self.dir / f"{label}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # Measuring --------------------------------------------------------------------------

    def rss(self) -> dict[str, int]:
        """Resident bytes of each API (gunicorn's arbiter and its workers summed) and each worker process."""
        found = {}
        for process in [*self.apis.values(), *self.all_workers]:
            if process.alive:
                found[process.label] = sum(_rss(pid) for pid in _tree(process.popen.pid))
        return found

    def check_alive(self) -> None:
        dead = [p.label for p in [*self.apis.values(), *self.all_workers] if not p.alive]
        if dead:
            raise RuntimeError(f"{dead} died: " + "\n".join(self.log(label)[-2000:] for label in dead))

    # Tear-down --------------------------------------------------------------------------

    def down(self) -> None:
        regardless(*(process.stop for process in [*self.apis.values(), *self.all_workers]),
                   *(lambda database=database: drop_database(self.pg_server, database)
                     for database in self.databases.values()),
                   lambda: self.vhosts.delete(self.vhost))


def _tree(pid: int) -> list[int]:
    """The process and its descendants (gunicorn's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
