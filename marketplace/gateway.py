"""The gateway (port 8000 by default): routes by the first path segment to the service that owns it."""
from __future__ import annotations

import json
import os
from typing import Mapping

from http import client
from urllib.parse import quote, urlsplit

from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import BadGateway
from werkzeug.http import is_hop_by_hop_header
from werkzeug.middleware.http_proxy import ProxyMiddleware
from werkzeug.wsgi import get_input_stream

from marketplace import registry
from shared import tracing
from shared.serve import serve as serve_app

# Routing: every public path is unique across services, so its first segment names the owner.
ROUTES = registry.ROUTES


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

    def proxy_to(self, opts, path, prefix):
        """Each answer passed on as its bytes arrive: werkzeug's own proxy reads 16 KiB at a time, so a
        stream of small events (Server-Sent Events) would wait until 16 KiB had come."""
        target = urlsplit(opts["target"])
        host = (target.hostname or "").encode("idna").decode("ascii")

        def application(environ, start_response):
            headers = [(k, v) for k, v in EnvironHeaders(environ).items()
                       if not is_hop_by_hop_header(k) and k.lower() not in ("content-length", "host", "connection")]
            headers += [("Connection", "close"), ("Host", host)]
            length = environ.get("CONTENT_LENGTH")
            chunked = length is not None and length == ""
            headers.append(("Transfer-Encoding", "chunked") if chunked else ("Content-Length", length or "0"))
            query = environ.get("QUERY_STRING")
            url = quote(path, safe="!$&'()*+,/:;=@%") + (f"?{query}" if query else "")
            try:
                connection = (client.HTTPSConnection(host, target.port or 443, timeout=self.timeout,
                                                     context=opts["ssl_context"]) if target.scheme == "https"
                              else client.HTTPConnection(host, target.port or 80, timeout=self.timeout))
                connection.putrequest(environ["REQUEST_METHOD"], url, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    connection.putheader(name, value)
                connection.endheaders()
                stream = get_input_stream(environ, max_content_length=None)
                while data := stream.read(self.chunk_size):
                    connection.send(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                if chunked:
                    connection.send(b"0\r\n\r\n")
                response = connection.getresponse()
            except OSError:
                return BadGateway()(environ, start_response)
            start_response(f"{response.status} {response.reason}",
                           [(k.title(), v) for k, v in response.getheaders() if not is_hop_by_hop_header(k)])

            def passed_on():
                try:
                    while True:
                        try:
                            data = response.read1(self.chunk_size)
                        except OSError:
                            break
                        if not data:
                            break
                        yield data
                finally:
                    connection.close()

            return passed_on()

        return application


def targets(ports: Mapping[str, int] | None = None) -> dict[str, str]:
    """Each service's `GATEWAY_<SERVICE>_URL`, else its port on this machine."""
    ports = registry.ports() if ports is None else ports
    return {entry.name: os.environ.get(f"GATEWAY_{entry.name.upper()}_URL", f"http://127.0.0.1:{ports[entry.name]}")
            for entry in registry.ENTRIES}


def proxy(chosen: dict[str, str] | None = None):
    """The gateway in front of separate processes: one target per service."""
    chosen = chosen or targets()
    return _SegmentProxy(_not_routed, {
        f"/{segment}/": {"target": chosen[service], "host": "<auto>"}
        for segment, service in ROUTES.items()
    }, timeout=60)


def create_proxy_app():
    """Gunicorn entry point for the gateway of `stack` and docker compose."""
    return proxy()


def serve(host: str, port: int, workers: int, ports: Mapping[str, int] | None = None) -> None:
    """The proxying gateway under gunicorn."""
    # Threads: a notification stream holds one for its whole life, so the gateway has as many as the
    # service with the most (messages).
    serve_app(lambda: tracing.instrument_wsgi(proxy(targets(ports)), tracing.provider_for(registry.GATEWAY)),
              host, port, workers, max(entry.threads for entry in registry.ENTRIES), name=registry.GATEWAY)
