"""Traces across the bus: the envelope carries the producer's span, every delivery of it continues that span."""
from __future__ import annotations

import io
import json
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from werkzeug.test import Client

from shared import tracing
from shared.bus import PublishError
from shared.config import ConfigError
from shared.dlq import AmqpDeadLetters, EmbeddedDeadLetters
from shared.context import correlated
from shared.events import Envelope
from shared.logs import configure_logging
from tests.kit.helpers import REGISTERED, effect_counts, outbox_row, record, registered
from tests.support import eventually

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


class Spans:
    """A tracer provider whose finished spans the test reads back."""

    def __init__(self):
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(resource=Resource.create({"service.name": "kit-test"}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def named(self, name: str) -> list:
        return [span for span in self.exporter.get_finished_spans() if span.name == name]

    def children_of(self, span) -> list:
        return [child for child in self.exporter.get_finished_spans()
                if child.parent is not None and child.parent.span_id == span.context.span_id]


@pytest.fixture
def spans():
    made = Spans()
    yield made
    made.provider.shutdown()


def emit_in_a_request(runtime, spans: Spans, data: dict) -> Envelope:
    with spans.provider.get_tracer("test").start_as_current_span("POST /users", kind=SpanKind.SERVER):
        with runtime.unit_of_work() as uow:
            return uow.emit(REGISTERED, data)


def traceparent(span) -> str:
    return f"00-{span.context.trace_id:032x}-{span.context.span_id:016x}-{int(span.context.trace_flags):02x}"


class TestOffWithoutAnEndpoint:
    def test_no_endpoint_installs_no_provider_and_emits_no_context(self, embedded_kit, monkeypatch):
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            monkeypatch.delenv(name, raising=False)
        runtime = embedded_kit.runtime(embedded_kit.service())

        with runtime.unit_of_work() as uow:
            event = uow.emit(REGISTERED, registered())

        assert runtime.tracer_provider is None and runtime.tracer is tracing.NO_OP
        assert not isinstance(trace.get_tracer_provider(), TracerProvider)
        assert event.traceparent is None and event.tracestate is None
        assert "traceparent" not in json.loads(outbox_row(runtime.db, event.id).body)

    @pytest.mark.parametrize("env", [{}, {**ENDPOINT, "OTEL_SDK_DISABLED": "true"},
                                     {**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}])
    def test_traces_are_off_unless_an_endpoint_is_set_and_nothing_disables_them(self, env):
        assert not tracing.enabled(env)
        assert tracing.provider_for("kit", env) is None

    def test_either_endpoint_variable_turns_them_on(self):
        assert tracing.enabled(ENDPOINT)
        assert tracing.enabled({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})

    def test_an_unknown_protocol_stops_start_up_naming_its_variable(self):
        with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' is not one of"):
            tracing.check({**ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"})
        assert tracing.protocol({**ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == "grpc"
        assert tracing.protocol(ENDPOINT) == "http/protobuf"


class TestTheEnvelopeCarriesTheTrace:
    def test_an_event_emitted_in_a_request_carries_its_producer_span(self, embedded_kit, spans):
        runtime = embedded_kit.runtime(embedded_kit.service(), tracer_provider=spans.provider)

        event = emit_in_a_request(runtime, spans, registered())

        [request], [create] = spans.named("POST /users"), spans.named(f"create {REGISTERED}")
        assert create.kind is SpanKind.PRODUCER and create.parent.span_id == request.context.span_id
        assert create.attributes["messaging.message.id"] == event.id
        assert event.traceparent == traceparent(create)
        stored = Envelope.from_json(outbox_row(runtime.db, event.id).body)
        assert stored.traceparent == event.traceparent

    def test_the_statements_of_the_request_are_its_children(self, embedded_kit, spans):
        runtime = embedded_kit.runtime(embedded_kit.service(), tracer_provider=spans.provider)

        emit_in_a_request(runtime, spans, registered())

        [request] = spans.named("POST /users")
        statements = [span for span in spans.children_of(request) if span.kind is SpanKind.CLIENT]
        assert any(span.attributes["db.query.text"].startswith("INSERT INTO outbox") for span in statements)
        assert all(span.attributes["db.system.name"] == "sqlite" for span in statements)

    @pytest.mark.parametrize("value", [5, "", "x" * 513, "00-\x00", None])
    def test_a_trace_field_that_cannot_be_one_is_dropped_and_the_event_still_read(self, value):
        body = json.loads(Envelope(REGISTERED, registered(), "kit", "correlation").to_json())
        decoded = Envelope.from_json(json.dumps({**body, "traceparent": value, "tracestate": value}))
        assert decoded.traceparent is None and decoded.tracestate is None and decoded.id == body["id"]


class TestTheConsumerContinuesIt:
    def test_the_consumer_span_is_a_child_of_the_producer_span(self, embedded_kit, spans):
        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: record}),
                                        tracer_provider=spans.provider)
        embedded_kit.worker(consumer)
        producer = embedded_kit.runtime(embedded_kit.service(), tracer_provider=spans.provider)

        event = emit_in_a_request(producer, spans, registered())

        [process] = eventually(lambda: spans.named(f"process {REGISTERED}"), message="the consumer's span")
        [create] = spans.named(f"create {REGISTERED}")
        assert process.kind is SpanKind.CONSUMER
        assert (process.context.trace_id, process.parent.span_id) == (create.context.trace_id, create.context.span_id)
        assert process.attributes["messaging.message.id"] == event.id
        assert process.attributes["messaging.consumer.group.name"] == consumer.service.name
        assert process.attributes["marketplace.outcome"] == "handled"
        assert any("INSERT INTO inbox" in span.attributes.get("db.query.text", "") for span in spans.children_of(process))
        [send] = eventually(lambda: spans.named(f"send {embedded_kit.settings.exchange}"), message="the relay's span")
        assert [link.context.span_id for link in send.links] == [create.context.span_id]

    @pytest.mark.parametrize("bus", ["embedded", pytest.param("amqp", marks=[pytest.mark.amqp, pytest.mark.postgres])])
    def test_every_retry_and_the_replayed_dead_letter_continue_the_producer_span(self, request, bus, spans):
        kit = request.getfixturevalue(f"{bus}_kit")
        healed = []

        def fails_until_healed(event, uow):
            if not healed:
                raise RuntimeError("the ledger is down")
            record(event, uow)

        consumer = kit.runtime(kit.service(handlers={REGISTERED: fails_until_healed}), tracer_provider=spans.provider)
        kit.worker(consumer)
        producer = kit.runtime(kit.service(), tracer_provider=spans.provider)
        event = emit_in_a_request(producer, spans, registered())
        tiers = len(kit.settings.retry_delays)
        processed = lambda: spans.named(f"process {REGISTERED}")  # noqa: E731
        eventually(lambda: len(processed()) == tiers + 1, message="the delivery and its retries, the last one dead")

        healed.append(True)
        letters = (EmbeddedDeadLetters(consumer.db) if bus == "embedded"
                   else AmqpDeadLetters(kit.settings, consumer.service.name))
        assert eventually(lambda: letters.replay({event.id})) == 1
        eventually(lambda: effect_counts(consumer.db) == {event.id: 1}, message="the replayed event handled")

        [create] = spans.named(f"create {REGISTERED}")
        eventually(lambda: len(processed()) == tiers + 2, message="a span for the replay too")
        assert {span.parent.span_id for span in processed()} == {create.context.span_id}
        assert [span.attributes["marketplace.outcome"] for span in processed()] == ["retry"] * tiers + ["dead", "handled"]
        assert [span.attributes["marketplace.retries"] for span in processed()] == [*range(tiers + 1), 0]

    def test_an_event_the_sweep_publishes_later_still_continues_the_producer_span(self, embedded_kit, spans):
        consumer = embedded_kit.runtime(embedded_kit.service(handlers={REGISTERED: record}),
                                        tracer_provider=spans.provider)
        embedded_kit.worker(consumer)
        producer = embedded_kit.runtime(embedded_kit.service(), bus=RefusesFirst(embedded_kit.bus),
                                        tracer_provider=spans.provider)
        embedded_kit.worker(producer)

        event = emit_in_a_request(producer, spans, registered())

        [process] = eventually(lambda: spans.named(f"process {REGISTERED}"), message="delivered by the sweep")
        assert outbox_row(producer.db, event.id).attempts >= 1
        [create] = spans.named(f"create {REGISTERED}")
        assert process.parent.span_id == create.context.span_id
        failed, sent = spans.named(f"send {embedded_kit.settings.exchange}")[:2]
        assert not failed.status.is_ok and sent.status.is_unset


class TestThroughTheGateway:
    def test_a_plain_wsgi_app_passes_its_request_span_on_downstream(self, spans):
        seen = []

        def downstream(environ, start_response):
            seen.append(environ.get("HTTP_TRACEPARENT"))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        caller = f"00-{'a' * 32}-{'b' * 16}-01"
        client = Client(tracing.instrument_wsgi(downstream, spans.provider))
        assert client.get("/jobs", headers={"traceparent": caller}).status_code == 200

        [request] = spans.exporter.get_finished_spans()
        assert request.kind is SpanKind.SERVER and f"{request.context.trace_id:032x}" == "a" * 32
        assert request.parent.span_id == int("b" * 16, 16)
        assert seen == [traceparent(request)]

    def test_without_a_provider_the_app_is_left_as_it_is(self):
        def app(environ, start_response):
            return []

        assert tracing.instrument_wsgi(app, None) is app


class TestLogLines:
    @pytest.fixture
    def log_lines(self, settings):
        """`log_lines(format)`: the kit's handler as `configure_logging` installs it, writing into a buffer."""
        root = logging.getLogger()
        kept_handlers, kept_level = root.handlers[:], root.level
        buffer = io.StringIO()

        def install(log_format: str):
            configure_logging(settings.replace(log_format=log_format))
            root.handlers[0].setStream(buffer)
            return buffer

        yield install
        root.handlers[:] = kept_handlers
        root.setLevel(kept_level)

    def test_a_json_line_carries_the_trace_and_span_beside_the_correlation_id(self, log_lines, spans):
        buffer = log_lines("json")
        with correlated("saga-1"), spans.provider.get_tracer("test").start_as_current_span("work") as span:
            logging.getLogger("kit").warning("inside")
        logging.getLogger("kit").warning("outside")

        inside, outside = (json.loads(line) for line in buffer.getvalue().splitlines())
        assert (inside["correlation_id"], inside["trace_id"], inside["span_id"]) == (
            "saga-1", f"{span.get_span_context().trace_id:032x}", f"{span.get_span_context().span_id:016x}")
        assert (outside["trace_id"], outside["span_id"]) == ("-", "-")

    def test_a_text_line_names_the_trace_only_when_there_is_one(self, log_lines, spans):
        buffer = log_lines("text")
        with correlated("saga-2"), spans.provider.get_tracer("test").start_as_current_span("work") as span:
            logging.getLogger("kit").warning("inside")
        logging.getLogger("kit").warning("outside")

        inside, outside = buffer.getvalue().splitlines()
        context = span.get_span_context()
        assert f"[saga-2 trace={context.trace_id:032x} span={context.span_id:016x}] inside" in inside
        assert "[-] outside" in outside


class RefusesFirst:
    """The embedded bus, refusing the first publish as a broker that is away would."""

    def __init__(self, bus):
        self.bus, self.refused = bus, False

    def publish(self, envelopes, settled=None, unsettled=None):
        if not self.refused:
            self.refused = True
            raise PublishError("the broker is away")
        return self.bus.publish(envelopes, settled=settled, unsettled=unsettled)

    def __getattr__(self, name):
        return getattr(self.bus, name)
