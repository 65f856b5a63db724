"""`marketplace stack`: the real topology as local processes, for machines without Docker."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from kombu import Connection

from marketplace import registry
from marketplace.databases import create_missing
from shared.bus.amqp import declare_all
from shared.config import ConfigError, Settings
from shared.db import Database, migrate


def check(settings: Settings, services: dict) -> None:
    if settings.embedded:
        raise ConfigError("AMQP_URL: `stack` needs a RabbitMQ broker, e.g. amqp://guest:guest@127.0.0.1:5672//")
    for name in services:
        if name not in settings.database_urls and not settings.database_server_url:
            raise ConfigError(f"DATABASE_URL_{name.upper()}: `stack` needs PostgreSQL; set it or DATABASE_URL "
                              "(a server URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres)")


def publishers(settings: Settings) -> dict[str, str]:
    """Every service of the stack connects with the one AMQP_URL, so every producer publishes as its user
    (unless AMQP_PUBLISHERS says otherwise): the consumers' check of who published an event holds."""
    if os.environ.get("AMQP_PUBLISHERS"):
        return {}
    return {"AMQP_PUBLISHERS": f"*={Connection(settings.amqp_url).userid}"}


def commands(services: dict, workers: int, api_workers: int, ports: dict[str, int]) -> list[tuple[str, list[str]]]:
    me = [sys.executable, "-m", "marketplace.cli"]
    plan = []
    for name in services:
        plan.append((f"{name}-api", [*me, "api", name, "--port", str(ports[name]), "--workers", str(api_workers)]))
        plan += [(f"{name}-worker-{i + 1}", [*me, "worker", name]) for i in range(workers)]
    plan.append((registry.GATEWAY, [*me, "gateway", "--port", str(ports[registry.GATEWAY])]))
    return plan


def _die_with_parent() -> None:
    """Children get SIGTERM if `stack` itself dies, even by SIGKILL: no orphans holding ports."""
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: Ctrl-C still stops everything
        pass


def run(settings: Settings, services: dict, workers: int, api_workers: int, ports: dict[str, int] | None = None) -> int:
    ports = registry.ports() if ports is None else ports
    check(settings, services)
    create_missing(settings, services)
    for name, service in services.items():
        database = Database(settings.database_url(name))
        migrate(database, service.migrations)
        database.dispose()
        print(f"migrated {name}", flush=True)
    declare_all(settings, {name: sorted(service.handlers) for name, service in services.items()})
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    # The children see the same ports (the gateway's targets default to them), whatever chose them.
    env = {**os.environ, **registry.port_variables(ports), **publishers(settings)}
    children = {label: subprocess.Popen(argv, env=env, preexec_fn=_die_with_parent)
                for label, argv in commands(services, workers, api_workers, ports)}
    print(f"stack: started {', '.join(children)}", flush=True)
    failed = None
    while not stop.wait(0.5):
        failed = next((label for label, child in children.items() if child.poll() is not None), None)
        if failed:
            print(f"stack: {failed} exited with {children[failed].returncode}; stopping everything", file=sys.stderr)
            break
    _terminate(children.values())
    return 1 if failed else 0


def _terminate(children) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
