"""Gunicorn, started in-process with the app built by the same factory tests use."""
from __future__ import annotations

import os
import tempfile
from typing import Any, Callable

from gunicorn.app.base import BaseApplication

from shared import tracing
from shared.config import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, factory, options: dict):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.factory()


def _child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def _traced(name: str):
    """Forking: each gunicorn worker sets up its own tracer provider (its exporter's thread is its own),
    and exports what it still holds when it exits; the arbiter never traces."""

    def post_fork(server, worker) -> None:
        tracing.provider_for(name)

    def worker_exit(server, worker) -> None:
        tracing.shutdown()

    return {"post_fork": post_fork, "worker_exit": worker_exit}


def _options(host: str, port: int, workers: int, threads: int, name: str | None = None) -> dict:
    """gunicorn's settings; with `name`, its workers trace as that service (when an endpoint is set)."""
    return {"bind": f"{host}:{port}", "workers": workers, "threads": threads, "worker_class": "gthread",
            "timeout": 60, "graceful_timeout": 20, "keepalive": 5, "accesslog": None, "child_exit": _child_exit,
            **(_traced(name) if name else {})}


def share_metrics_between_processes() -> None:
    """Before prometheus_client is imported: gunicorn's processes write to one folder, summed on scrape."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="marketplace-metrics-")


def serve(factory: Callable[[], Any], host: str, port: int, workers: int, threads: int, *, name: str) -> None:
    """Run the WSGI app `factory()` builds under gunicorn until it is stopped; `name` is whose spans it makes."""
    _Gunicorn(factory, _options(host, port, workers, threads, name)).run()


def serve_api(service, settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    from shared.http import create_app

    # The service's own settings are read here, before gunicorn starts: a bad value stops start-up
    # with the variable named, not a worker that fails to boot.
    own = service.settings.from_env(os.environ)
    serve(lambda: create_app(service, settings, service_settings=own), host, port, workers, threads,
          name=service.name)
