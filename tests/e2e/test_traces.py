"""One hire-to-payout story on the real topology (gunicorn APIs and workers as processes) is one trace.

The processes export over OTLP/HTTP to a receiver in this test; the client sends one `traceparent` with
every request, as the demo does, and the trace must hold every service's spans with the bus crossed by
parent links: each consumer's span is a child of the producer's span that emitted the event.
"""
from __future__ import annotations

import secrets

import pytest

from tests import infra
from tests.e2e.otlp import Receiver, Span
from tests.faults.stories import Driver, Story
from tests.faults.suite import Suite
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres]

# Hops of the story across the bus: (producer, event type, consumer).
HOPS = [("jobs", "jobs.hire.requested", "contracts"),
        ("contracts", "contracts.milestone.funding_requested", "payments"),
        ("payments", "payments.escrow.funded", "contracts"),
        ("payments", "payments.escrow.released", "contracts")]


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def traced_suite(tmp_path, amqp_url, pg_server_url, receiver):
    suite = Suite(tmp_path, amqp_url, pg_server_url, env={
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_TRACES_SAMPLER": "parentbased_always_on"})
    if not suite.vhosts.usable():
        infra.unavailable("RabbitMQ's vhost management (rabbitmqctl or the management API)")
    try:
        yield suite.up()
    finally:
        suite.down()


def the_span(spans: list[Span], service: str, name: str) -> Span:
    found = [span for span in spans if span.service == service and span.name == name]
    assert found, f"no {name!r} span of {service} in the trace: {sorted({(s.service, s.name) for s in spans})}"
    return found[0]


class TestOneStoryIsOneTrace:
    def test_a_paid_out_story_is_one_trace_across_every_service_and_the_bus(self, traced_suite, receiver):
        trace_id, root = secrets.token_hex(16), secrets.token_hex(8)
        driver = Driver(traced_suite, headers={"traceparent": f"00-{trace_id}-{root}-01"})
        story = driver.play(driver.set_up(Story(0, "pay", 25_000, 40_000)))
        assert story.outcome == "completed", story.error

        def told() -> list[Span]:
            spans = receiver.trace(trace_id)
            names = {(span.service, span.name) for span in spans}
            hops = all({(producer, f"create {type_}"), (consumer, f"process {type_}")} <= names
                       for producer, type_, consumer in HOPS)
            return spans if hops and ("payments", "process payments.payout.requested") in names else []

        spans = eventually(told, timeout=60, message="every hop's spans exported")

        assert {"users", "jobs", "contracts", "payments"} <= {span.service for span in spans}
        by_id = {span.span_id: span for span in spans}
        for producer, type_, consumer in HOPS:
            create, process = the_span(spans, producer, f"create {type_}"), the_span(spans, consumer, f"process {type_}")
            assert (create.kind, process.kind) == ("producer", "consumer")
            assert process.parent_id == create.span_id, f"{consumer}'s {type_} span is not the producer's child"
            assert process.attributes["messaging.message.id"] == create.attributes["messaging.message.id"]
        hire = the_span(spans, "jobs", "create jobs.hire.requested")
        request = by_id[hire.parent_id]
        assert (request.service, request.kind, request.parent_id) == ("jobs", "server", root)
        funding = the_span(spans, "payments", "process contracts.milestone.funding_requested")
        statements = [span for span in spans if span.parent_id == funding.span_id and span.kind == "client"]
        assert any(span.attributes.get("db.system.name") == "postgresql" for span in statements), statements
        assert any(span.name.startswith("send ") and span.kind == "producer" for span in spans if span.service == "jobs")
