"""The gateway (port 8000 by default): routes by the first path segment to the service that owns it.

`in_process(apps)` hands each request to the service's app in this process (`marketplace dev`);
`proxy(targets)` forwards it over HTTP to each service's own process (`marketplace stack`,
`marketplace gateway`). In compose and Kubernetes nginx and an Ingress serve the same routes
(`marketplace.nginx` writes nginx's from this module).

Each service's `/docs` and `/openapi.json` are reachable under `/api/<service>` as well: the
service sees its own path and, as its prefix, SCRIPT_NAME in process or `X-Forwarded-Prefix`
over HTTP, so the page it serves names the right URLs.
"""
from __future__ import annotations

import json
import os
from http import client
from typing import Mapping, NamedTuple
from urllib.parse import quote, urlsplit

from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import is_hop_by_hop_header
from werkzeug.wsgi import get_input_stream

from marketplace import registry
from shared import tracing
from shared.serve import serve as serve_app

# Routing: every public path is unique across services, so its first segment names the owner.
ROUTES = registry.ROUTES
DOCS_PATHS = ("/docs", "/openapi.json")
"""What `/api/<service>/…` reaches of a service: its Swagger UI (and its files under /docs/) and its spec."""
TIMEOUT = 60.0
"""Seconds a service may take to answer before the gateway answers 504 (gunicorn's own timeout)."""
CHUNK = 64 * 1024
# The proxy sets these itself: a client's own values are not passed on.
FORWARDED = ("host", "content-length", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
             "x-forwarded-prefix")


def docs_prefix(service: str) -> str:
    return f"/api/{service}"


class Route(NamedTuple):
    service: str
    path: str
    """The path the service sees."""
    prefix: str
    """What the gateway took off the front ("" for the public routes)."""


def route(path: str) -> Route | None:
    """The service a path belongs to, or None."""
    segment = path.lstrip("/").split("/", 1)[0]
    if segment in ROUTES:
        return Route(ROUTES[segment], path, "")
    parts = path.split("/", 3)  # "", "api", service, rest
    if len(parts) == 4 and parts[1] == "api" and parts[2] in registry.BY_NAME:
        rest = "/" + parts[3]
        if rest in DOCS_PATHS or rest.startswith("/docs/"):
            return Route(parts[2], rest, docs_prefix(parts[2]))
    return None


def problem(start_response, status: int, title: str, detail: str, headers: tuple = ()) -> list[bytes]:
    """An `application/problem+json` answer of the gateway's own (the services send their own)."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    start_response(f"{status} {title.upper()}", [("Content-Type", "application/problem+json"),
                                                 ("Content-Length", str(len(body))), *headers])
    return [body]


def _not_routed(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path in ("/health", "/ready"):
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"status": "ok", "service": "gateway"}).encode()]
    return problem(start_response, 404, "Not Found", f"No service serves {path}.")


def in_process(apps: dict):
    """The embedded gateway: hands each request straight to the service's app in this process."""

    def application(environ, start_response):
        found = route(environ.get("PATH_INFO", "/"))
        app = apps.get(found.service) if found else None
        if app is None:
            return _not_routed(environ, start_response)
        if found.prefix:
            environ = {**environ, "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + found.prefix,
                       "PATH_INFO": found.path}
        return app(environ, start_response)

    return application


class Forward:
    """One request to one service over HTTP; a service that is down is a 502, one too slow a 504."""

    def __init__(self, service: str, target: str, timeout: float = TIMEOUT):
        parts = urlsplit(target)
        self.service, self.host, self.port, self.timeout = service, parts.hostname or "", parts.port or 80, timeout

    def __call__(self, environ, start_response, found: Route):
        headers = [(name, value) for name, value in EnvironHeaders(environ).items()
                   if not is_hop_by_hop_header(name) and name.lower() not in FORWARDED]
        # The gateway is the edge: who called it is what it saw, not what the caller claims.
        headers += [("Host", environ.get("HTTP_HOST") or self.host),
                    ("X-Forwarded-For", environ.get("REMOTE_ADDR", "")),
                    ("X-Forwarded-Proto", environ.get("wsgi.url_scheme", "http")),
                    ("X-Forwarded-Host", environ.get("HTTP_HOST", ""))]
        if found.prefix:
            headers.append(("X-Forwarded-Prefix", found.prefix))
        length, body, whole = environ.get("CONTENT_LENGTH") or "", get_input_stream(environ), None
        if not length and environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            whole = body.read()
            length = str(len(whole))
        url = quote(found.path, safe="!$&'()*+,/:;=@%") + (f"?{environ['QUERY_STRING']}"
                                                           if environ.get("QUERY_STRING") else "")
        connection = client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.putrequest(environ["REQUEST_METHOD"], url, skip_host=True, skip_accept_encoding=True)
            for name, value in headers + ([("Content-Length", length)] if length else []):
                connection.putheader(name, value)
            connection.endheaders()
            if whole is not None:
                connection.send(whole)
            elif length:
                remaining = int(length)
                while remaining > 0 and (chunk := body.read(min(CHUNK, remaining))):
                    connection.send(chunk)
                    remaining -= len(chunk)
            response = connection.getresponse()
        except TimeoutError:
            connection.close()
            return problem(start_response, 504, "Gateway Timeout",
                           f"The {self.service} service did not answer within {self.timeout:g}s.")
        except OSError:
            connection.close()
            return problem(start_response, 502, "Bad Gateway", f"The {self.service} service cannot be reached.")
        start_response(f"{response.status} {response.reason}",
                       [(name, value) for name, value in response.getheaders() if not is_hop_by_hop_header(name)])
        return self._relay(response, connection)

    @staticmethod
    def _relay(response, connection):
        try:
            # Streams: each piece is passed on as it arrives (a Server-Sent Event is a few bytes).
            while chunk := response.read1(CHUNK):
                yield chunk
        except OSError:
            pass  # the service went away mid-answer: the client sees a short body, as from nginx
        finally:
            connection.close()


def targets(ports: Mapping[str, int] | None = None) -> dict[str, str]:
    """Each service's `GATEWAY_<SERVICE>_URL`, else its port on this machine."""
    ports = registry.ports() if ports is None else ports
    return {entry.name: os.environ.get(f"GATEWAY_{entry.name.upper()}_URL", f"http://127.0.0.1:{ports[entry.name]}")
            for entry in registry.ENTRIES}


def proxy(chosen: dict[str, str] | None = None, timeout: float = TIMEOUT):
    """The gateway in front of separate processes: one target per service."""
    forwards = {service: Forward(service, target, timeout) for service, target in (chosen or targets()).items()}

    def application(environ, start_response):
        found = route(environ.get("PATH_INFO", "/"))
        if found is None or found.service not in forwards:
            return _not_routed(environ, start_response)
        return forwards[found.service](environ, start_response, found)

    return application


def create_proxy_app():
    """Gunicorn entry point for the gateway of `stack`."""
    return proxy()


def serve(host: str, port: int, workers: int, ports: Mapping[str, int] | None = None) -> None:
    """The proxying gateway under gunicorn."""
    # Threads: a notification stream holds one for its whole life, so the gateway has as many as the
    # service with the most (messages).
    serve_app(lambda: tracing.instrument_wsgi(proxy(targets(ports)), tracing.provider_for(registry.GATEWAY)),
              host, port, workers, max(entry.threads for entry in registry.ENTRIES), name=registry.GATEWAY)
