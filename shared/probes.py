"""Is it up, is it ready: the checks an API's /ready runs, and a worker's own small HTTP server.

A worker has no Flask app: `serve_probes(worker, port)` answers on one port
- `/health`: the process and every loop of the worker are alive (200), else 503;
- `/ready`: its database and broker answer and its consumer is subscribed (200), else 503
  naming what failed (a problem+json body, as the APIs' /ready);
- `/metrics`: its Prometheus metrics.
Orchestrators restart what is not healthy and route to (or wait for) what is ready.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST

from shared.runtime import Runtime

if TYPE_CHECKING:
    from shared.worker import Worker

log = logging.getLogger(__name__)

READY_CACHE_SECONDS = 2.0
"""A probe at most every so often reaches the database and the broker; the others read its result."""


def dependencies(runtime: Runtime) -> dict[str, str]:
    """`{"database": "ok" | "failed: <Error>", "broker": …}`: does each answer now?"""
    checks = {}
    for name, ping in (("database", runtime.db.ping), ("broker", runtime.bus.ping)):
        try:
            ping()
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            checks[name] = f"failed: {type(error).__name__}"
    return checks


class Cached:
    """A check run at most every READY_CACHE_SECONDS, however often it is asked."""

    def __init__(self, check, seconds: float = READY_CACHE_SECONDS):
        self.check, self.seconds = check, seconds
        self.lock = threading.Lock()
        self.at, self.result = 0.0, None

    def __call__(self):
        with self.lock:
            if self.result is None or time.monotonic() - self.at > self.seconds:
                self.result, self.at = self.check(), time.monotonic()
            return self.result


def not_ready(checks: dict[str, str]) -> dict | None:
    """The problem+json body of a failed readiness, or None when every check is ok."""
    failed = [name for name, outcome in checks.items() if outcome != "ok"]
    if not failed:
        return None
    return {"type": "about:blank", "title": "Service Unavailable", "status": 503,
            "detail": f"Not ready: {', '.join(failed)} failed.", "checks": checks}


def worker_readiness(worker: Worker) -> dict[str, str]:
    checks = dependencies(worker.runtime)
    checks["consumer"] = "ok" if worker.consuming.is_set() else "failed: not subscribed"
    return checks


def serve_probes(worker: Worker, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """/health, /ready and /metrics of `worker` on `port`, answered from a thread of their own."""
    runtime, readiness = worker.runtime, Cached(lambda: worker_readiness(worker))

    class Probes(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                return self.answer(200, runtime.metrics.render(), CONTENT_TYPE_LATEST)
            if path == "/health":
                dead = worker.dead_loops()
                if dead:
                    return self.json(503, {"type": "about:blank", "title": "Service Unavailable", "status": 503,
                                           "detail": f"Loops stopped: {', '.join(dead)}."}, problem=True)
                return self.json(200, {"status": "ok", "service": runtime.service.name})
            if path == "/ready":
                checks = readiness()
                failed = not_ready(checks)
                if failed:
                    return self.json(503, failed, problem=True)
                return self.json(200, {"status": "ready", "checks": checks})
            return self.json(404, {"type": "about:blank", "title": "Not Found", "status": 404,
                                   "detail": f"{path} is not served here (/health, /ready, /metrics)."}, problem=True)

        def json(self, status: int, body: dict, problem: bool = False) -> None:
            self.answer(status, json.dumps(body).encode(), "application/problem+json" if problem else "application/json")

        def answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - http.server's signature
            pass  # a probe every few seconds is not worth a log line

    server = ThreadingHTTPServer((host, port), Probes)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"{runtime.service.name}-probes", daemon=True).start()
    log.info("%s worker: /health, /ready and /metrics on port %d", runtime.service.name, server.server_port)
    return server
