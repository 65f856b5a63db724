"""`create_app`: one Flask app per service, built the same way by gunicorn, `dev` and tests."""
from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple

import flask_smorest
import flask_swagger_ui
import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request, send_from_directory
from prometheus_client import CONTENT_TYPE_LATEST
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import context, tracing
from shared.config import ServiceSettings, Settings
from shared.errors import DomainError
from shared.http import problems
from shared.http.guard import check_request
from shared.http.auth import Tokens
from shared.http.schemas import ProblemSchema
from shared.ids import new_id
from shared.probes import Cached, dependencies
from shared.runtime import Runtime, UnitOfWork
from shared.service import Service

MAX_BODY = 1024 * 1024
# Outages: the database refusing, dropping or timing out is a 503 to retry, not a 500 to report.
DATABASE_OUTAGES = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
# Swagger UI's own files (its dist/ folder), from the installed, locked flask-swagger-ui: /docs
# loads them from the service itself, so it works offline and its version is the lock's.
SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException):
        return problems.from_http_exception(error)

    def _register_responses(self):
        # The documented errors are what the handlers send: problem+json, not the success type.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = problems.PROBLEM
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


def create_app(service: Service, config: Settings | None = None, *, runtime: Runtime | None = None,
               migrate: bool = False, service_settings: ServiceSettings | None = None,
               collaborators: Mapping[str, Any] | None = None) -> Flask:
    """The service's app on `runtime`, or on one built here from the kit's settings (`config`), the
    service's own (`service_settings`, else read from the environment) and `collaborators` overrides."""
    settings = config or Settings.from_env()
    runtime = runtime or Runtime(service, settings, service_settings=service_settings, collaborators=collaborators)
    if migrate:
        runtime.migrate()
    app = Flask(f"marketplace.{service.name}")
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        API_TITLE=f"Marketplace {service.name}", API_VERSION="1.0", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json", OPENAPI_SWAGGER_UI_PATH="docs",
        # Relative, so the page's files are found under whatever prefix a gateway serves it at.
        OPENAPI_SWAGGER_UI_URL="docs/",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "info": {"description": service.title or f"The {service.name} service of Marketplace."}},
    )
    app.extensions["runtime"] = runtime
    # A gateway that serves /docs under a prefix says which in X-Forwarded-Prefix; only the URLs
    # the app generates (the spec's on that page) change, never routing or who the caller is.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=0, x_proto=0, x_host=0, x_port=0, x_prefix=1)  # type: ignore[method-assign]
    app.extensions["tokens"] = Tokens(settings)
    api = Api(app)
    app.add_url_rule("/docs/<path:filename>", "swagger_ui_files",
                     lambda filename: send_from_directory(SWAGGER_UI, filename))
    for blueprint in service.blueprints:
        api.register_blueprint(blueprint)
    app.register_error_handler(DomainError, problems.from_domain_error)
    for outage in DATABASE_OUTAGES:
        app.register_error_handler(outage, problems.from_database_outage)
    app.register_error_handler(Exception, problems.from_unexpected)
    _observe(app, runtime)
    tracing.instrument_app(app, runtime.tracer_provider)
    app.before_request(check_request)
    _operations(app, runtime)
    if service.on_start is not None:
        service.on_start(runtime)
    return app


def runtime_of(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions["runtime"]


@contextmanager
def unit_of_work(*, readonly: bool = False) -> Iterator[UnitOfWork]:
    """A unit of work of the current service, for a view: one transaction of its own
    (`readonly=True`: one that only reads and, on SQLite, waits for no writer).

    A view under `@idempotent` is given its unit of work as `uow` and must not open another: the
    response kept for its key commits in that one transaction with the work it describes.
    """
    if g.get("given_uow"):
        raise RuntimeError("this view is under @idempotent: use the `uow` it is called with")
    with runtime_of().unit_of_work(readonly=readonly) as uow:
        yield uow


class _Observed(NamedTuple):
    """What `_observe` keeps of one request: when it began, the ids it is known by, the context it set."""

    started: float
    correlation_id: str
    request_id: str
    tokens: tuple[contextvars.Token, ...]


def _observe(app: Flask, runtime: Runtime) -> None:
    metrics = runtime.metrics

    @app.before_request
    def _start():
        started = time.perf_counter()
        incoming = request.headers.get("X-Correlation-ID", "")
        # A client's correlation id is echoed and stored with every event: printable ASCII only.
        usable = incoming.strip() and incoming.isascii() and incoming.isprintable()
        correlation_id = incoming[:100] if usable else new_id()
        request_id = new_id()  # the id this request is known by in its service's records (a contract's timeline)
        g.observed = _Observed(started, correlation_id, request_id, (
            context.correlation_id.set(correlation_id), context.causation_id.set(request_id),
            context.current_cause.set(context.Cause("request", request_id))))

    @app.after_request
    def _finish(response: Response):
        observed: _Observed | None = g.get("observed")
        response.headers.extend((("X-Correlation-ID", observed.correlation_id if observed else ""),
                                 ("X-Request-ID", observed.request_id if observed else "")))
        asked = request._get_current_object()  # type: ignore[attr-defined]  # read thrice: once through the proxy
        route = asked.url_rule.rule if asked.url_rule else "unmatched"
        metrics.requests.labels(asked.method, route, str(response.status_code)).inc()
        if observed:
            metrics.latency.labels(asked.method, route).observe(time.perf_counter() - observed.started)
        return response

    @app.teardown_request
    def _reset(_error=None):
        observed: _Observed | None = g.pop("observed", None)
        if observed:
            correlation, causation, cause = observed.tokens
            context.current_cause.reset(cause)
            context.causation_id.reset(causation)
            context.correlation_id.reset(correlation)


def _operations(app: Flask, runtime: Runtime) -> None:
    readiness = Cached(lambda: dependencies(runtime))

    @app.get("/health")
    def health():
        """The process is up."""
        return {"status": "ok", "service": runtime.service.name}

    @app.get("/ready")
    def ready():
        """The database and the broker answer."""
        checks = readiness()
        failed = [name for name, outcome in checks.items() if outcome != "ok"]
        if failed:
            return problems.problem(503, "Service Unavailable", f"Not ready: {', '.join(failed)} failed.", checks=checks)
        return {"status": "ready", "checks": checks}

    @app.get("/metrics")
    def metrics():
        """Prometheus metrics of this service."""
        runtime.refresh_gauges()
        return Response(runtime.metrics.render(), mimetype=CONTENT_TYPE_LATEST)
