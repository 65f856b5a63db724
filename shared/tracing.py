"""Distributed traces: OpenTelemetry spans for every hop, exported over OTLP when an endpoint is set.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then no
provider is made, nothing is instrumented and the kit's tracer is OpenTelemetry's no-op one. The
standard `OTEL_*` variables configure the rest (protocol, sampler, batching, resource attributes);
`service.name` is the service's own unless `OTEL_SERVICE_NAME` says otherwise.

Nothing instruments kombu, so the kit carries the W3C trace context (`traceparent`, `tracestate`) in
the event envelope itself. `emit()` opens the PRODUCER span `create <type>` and writes its context
into the envelope, which the outbox row keeps in its body: the context survives the relay, retries,
dead letters and replays, and every consumer continues it with a CONSUMER span `process <type>`, a
child of that producer span. One story told over HTTP and the bus is one trace.
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.config import ConfigError

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

PROTOCOLS = ("http/protobuf", "grpc")
MESSAGING = {"messaging.system": "rabbitmq"}
# Probes and scrapes would each be a trace of their own, every few seconds.
EXCLUDED_URLS = "/health$,/ready$,/metrics$"
NO_OP: Tracer = trace.NoOpTracer()

# The W3C propagator itself, not the configurable global one: the envelope's fields are W3C's.
_W3C = TraceContextTextMapPropagator()
_lock = threading.Lock()
_providers: dict[str, "TracerProvider"] = {}


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether this process exports traces: an OTLP endpoint is set and the SDK is not disabled."""
    env = os.environ if env is None else env
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return False
    if (env.get("OTEL_TRACES_EXPORTER") or "otlp").strip().lower() == "none":
        return False
    return bool((env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip())


def protocol(env: Mapping[str, str] | None = None) -> str:
    """The OTLP protocol the variables name (`http/protobuf` unless set); a bad one names its variable."""
    env = os.environ if env is None else env
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = (env.get(name) or "").strip().lower()
        if value:
            if value not in PROTOCOLS:
                raise ConfigError(f"{name}: {value!r} is not one of {', '.join(PROTOCOLS)}")
            return value
    return PROTOCOLS[0]


def check(env: Mapping[str, str] | None = None) -> None:
    """At start, before any process forks: a bad value stops it with the variable named."""
    if enabled(env):
        protocol(env)


def provider_for(service: str, env: Mapping[str, str] | None = None) -> "TracerProvider | None":
    """This process's tracer provider for `service`, made on first use; None when traces are off.

    Forking: call it in the process that runs the service (a gunicorn worker after its fork, a
    worker process): the exporter's thread belongs to the process that made it. The first one made
    is also the process's global provider, for the instrumented HTTP client."""
    env = os.environ if env is None else env
    if not enabled(env):
        return None
    with _lock:
        if service not in _providers:
            _providers[service] = _make(service, env)
            if len(_providers) == 1:
                trace.set_tracer_provider(_providers[service])
                _instrument_http_client(_providers[service])
        return _providers[service]


def tracer(provider: "TracerProvider | None") -> Tracer:
    """The kit's tracer from `provider`, or the no-op tracer when there is none."""
    return NO_OP if provider is None else provider.get_tracer("marketplace.kit")


def shutdown() -> None:
    """Export what is still buffered (a process about to exit)."""
    with _lock:
        for provider in _providers.values():
            try:
                provider.shutdown()
            except Exception:  # noqa: BLE001 - an exporter that cannot flush must not stop the exit
                log.debug("tracing: could not flush spans", exc_info=True)
        _providers.clear()


def _make(service: str, env: Mapping[str, str]) -> "TracerProvider":
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; ours is only the default.
    resource = Resource.create({} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service})
    # The sampler (OTEL_TRACES_SAMPLER, _ARG) and the batching (OTEL_BSP_*) come from the environment.
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(_exporter(env)))
    return provider


def _exporter(env: Mapping[str, str]):
    if protocol(env) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        return Grpc()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    return Http()


def _instrument_http_client(provider: "TracerProvider") -> None:
    """Outgoing HTTP through `requests` (the demo, a real bank's or card processor's client) carries the trace."""
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    if not RequestsInstrumentor().is_instrumented_by_opentelemetry:
        RequestsInstrumentor().instrument(tracer_provider=provider)


# Instrumenting the service's own pieces -----------------------------------------------------------

def instrument_app(app, provider: "TracerProvider | None") -> None:
    """A SERVER span per HTTP request of the Flask `app`, continuing a caller's `traceparent`."""
    if provider is None:
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    excluded = os.environ.get("OTEL_PYTHON_FLASK_EXCLUDED_URLS") or EXCLUDED_URLS
    FlaskInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=excluded)


def instrument_wsgi(app, provider: "TracerProvider | None"):
    """A plain WSGI `app` (the gateway) with a SERVER span per request, its context passed on downstream."""
    if provider is None:
        return app
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    def passing_on(environ, start_response):
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)
        for key, value in carrier.items():
            environ[f"HTTP_{key.upper()}"] = value
        return app(environ, start_response)

    return OpenTelemetryMiddleware(passing_on, tracer_provider=provider)


def instrument_engine(engine, tracer_: Tracer) -> None:
    """A CLIENT span per SQL statement run inside a traced operation (a request, an event's handling).

    The statements of the worker's polling loops (the sweep, the timers), outside any span, would each
    make a trace of their own every fraction of a second: they are left out."""
    import sqlalchemy as sa

    system = {"postgresql": "postgresql", "sqlite": "sqlite"}.get(engine.dialect.name, engine.dialect.name)
    namespace = engine.url.database or ""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        if not trace.get_current_span().get_span_context().is_valid:
            return
        _end(conn, cursor, statement, parameters, context, executemany)  # a batch's earlier part, if any
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = tracer_.start_span(f"{operation} {namespace}".strip(), kind=SpanKind.CLIENT, attributes={
            "db.system.name": system, "db.namespace": namespace, "db.operation.name": operation,
            "db.query.text": statement})
        context._marketplace_span = span

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _end(conn, cursor, statement, parameters, context, executemany):
        span = getattr(context, "_marketplace_span", None)
        if span is not None:
            span.end()
            context._marketplace_span = None

    @sa.event.listens_for(engine, "handle_error")
    def _failed(exception_context):
        context = exception_context.execution_context
        span = getattr(context, "_marketplace_span", None) if context is not None else None
        if span is not None:
            span.record_exception(exception_context.original_exception)
            span.set_status(Status(StatusCode.ERROR, type(exception_context.original_exception).__name__))
            span.end()
            context._marketplace_span = None


# The bus ------------------------------------------------------------------------------------------

def current_context() -> dict[str, str]:
    """The current span's W3C context as the envelope carries it: `traceparent` (and `tracestate`), or {}."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier


@contextmanager
def creating(tracer_: Tracer, type_: str, producer: str) -> Iterator[Span]:
    """The PRODUCER span of one event being written to the outbox; the envelope takes its context."""
    if tracer_ is NO_OP:
        yield trace.INVALID_SPAN
        return
    with tracer_.start_as_current_span(f"create {type_}", kind=SpanKind.PRODUCER, attributes={
            **MESSAGING, "messaging.operation.type": "create", "messaging.destination.name": type_,
            "marketplace.producer": producer}) as span:
        yield span


@contextmanager
def sending(tracer_: Tracer, envelopes, destination: str) -> Iterator[Span]:
    """The relay's publish of a batch: linked to each event's producer span (a batch has many parents)."""
    if tracer_ is NO_OP:
        yield trace.INVALID_SPAN
        return
    links = [Link(context) for context in (_span_context(envelope) for envelope in envelopes) if context.is_valid]
    with tracer_.start_as_current_span(f"send {destination}", kind=SpanKind.PRODUCER, links=links, attributes={
            **MESSAGING, "messaging.operation.type": "send", "messaging.destination.name": destination,
            "messaging.batch.message_count": len(envelopes)}) as span:
        yield span


@contextmanager
def processing(tracer_: Tracer, envelope, consumer: str, retries: int) -> Iterator[Span]:
    """The CONSUMER span of one delivery, a child of the event's producer span (however late, however often)."""
    if tracer_ is NO_OP:
        yield trace.INVALID_SPAN
        return
    parent = _W3C.extract(_carrier(envelope))
    with tracer_.start_as_current_span(f"process {envelope.type}", context=parent, kind=SpanKind.CONSUMER,
                                       attributes={**MESSAGING, "messaging.operation.type": "process",
                                                   "messaging.destination.name": envelope.type,
                                                   "messaging.consumer.group.name": consumer,
                                                   "messaging.message.id": envelope.id,
                                                   "messaging.message.conversation_id": envelope.correlation_id,
                                                   "marketplace.producer": envelope.producer,
                                                   "marketplace.retries": retries}) as span:
        yield span


def record_outcome(span: Span, outcome: str, error: str | None = None) -> None:
    """What became of a delivery; a retry or a dead letter marks the span as failed."""
    span.set_attribute("marketplace.outcome", outcome)
    if error is not None:
        span.set_status(Status(StatusCode.ERROR, error[:500]))


def _carrier(envelope) -> dict[str, str]:
    carrier = {"traceparent": envelope.traceparent} if envelope.traceparent else {}
    if carrier and envelope.tracestate:
        carrier["tracestate"] = envelope.tracestate
    return carrier


def _span_context(envelope) -> Any:
    return trace.get_current_span(_W3C.extract(_carrier(envelope))).get_span_context()
