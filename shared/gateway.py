"""The gateway on port 8000: routes by the first path segment to the service that owns it."""
from __future__ import annotations

import json
import os

from werkzeug.middleware.http_proxy import ProxyMiddleware

from shared.config import PORTS

# Routing: every public path is unique across services, so its first segment names the owner.
ROUTES = {"users": "users", "auth": "users", "jobs": "jobs", "contracts": "contracts",
          "payments": "payments", "reviews": "reviews"}


def _not_routed(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path in ("/health", "/ready"):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"status": "ok", "service": "gateway"}).encode()]
    body = json.dumps({"type": "about:blank", "title": "Not Found", "status": 404,
                       "detail": f"No service serves {path}."}).encode()
    start_response("404 NOT FOUND", [("Content-Type", "application/problem+json"), ("Content-Length", str(len(body)))])
    return [body]


def in_process(apps: dict):
    """The embedded gateway: hands each request straight to the service's app in this process."""

    def application(environ, start_response):
        segment = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
        app = apps.get(ROUTES.get(segment, ""))
        return (app or _not_routed)(environ, start_response)

    return application


class _SegmentProxy(ProxyMiddleware):
    """werkzeug's proxy, matched on the first path segment: its own prefixes end in `/`,
    which would miss `POST /users` itself."""

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        prefix = "/" + path.lstrip("/").split("/", 1)[0] + "/"
        if prefix in self.targets:
            return self.proxy_to(self.targets[prefix], path, prefix)(environ, start_response)
        return self.app(environ, start_response)


def proxy(targets: dict[str, str] | None = None):
    """The gateway in front of separate processes: one target per service."""
    targets = targets or {name: os.environ.get(f"GATEWAY_{name.upper()}_URL", f"http://127.0.0.1:{PORTS[name]}")
                          for name in set(ROUTES.values())}
    return _SegmentProxy(_not_routed, {
        f"/{segment}/": {"target": targets[service], "host": "<auto>"}
        for segment, service in ROUTES.items()
    }, timeout=60)


def create_proxy_app():
    """Gunicorn entry point for the gateway of `stack` and docker compose."""
    return proxy()
