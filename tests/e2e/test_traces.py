"""`marketplace demo` against `marketplace stack` (gunicorn APIs of two processes each, workers, the gateway)
is one trace.

Every process exports over OTLP/HTTP to a receiver in this test, which decodes the protobuf payloads. The
demo opens one span and sends it with every request; the trace must hold every service's spans, through
the gateway, with the bus crossed by parent links: each consumer's span is a child of the producer's span
that emitted the event.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import uuid

import pytest

from marketplace.registry import NAMES as SERVICES
from shared.db import drop_database, ensure_database, normalize_url
from tests import infra
from tests.e2e.otlp import Receiver, Span
from tests.faults.suite import Broker, regardless
from tests.platform.test_dev import answers
from tests.ports import free_port_row
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


def exporting_to(receiver: Receiver) -> dict[str, str]:
    """Every process exports its spans to `receiver` at once, whatever the sampler would say otherwise."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_BSP_SCHEDULE_DELAY": "200", "OTEL_TRACES_SAMPLER": "parentbased_always_on"}


def the_span(spans: list[Span], service: str, name: str) -> Span:
    found = [span for span in spans if span.service == service and span.name == name]
    assert found, f"no {name!r} span of {service} in the trace: {sorted({(s.service, s.name) for s in spans})}"
    return found[0]


@pytest.fixture
def private_vhost(amqp_url):
    """A RabbitMQ vhost of the test's own: `stack` declares the usual queue names, shared by nobody else."""
    broker = Broker.of(amqp_url)
    vhosts = broker.vhosts()
    if not vhosts.usable():
        infra.unavailable("RabbitMQ's vhost management (rabbitmqctl or the management API)")
    name = f"traces_{uuid.uuid4().hex[:10]}"
    vhosts.add(name)
    yield broker.url(name)
    vhosts.delete(name)


def told_whole(spans: list[Span]) -> list[Span]:
    """The trace's spans once every service's are in, and every hop's across the bus; else none."""
    names = {(span.service, span.name) for span in spans}
    hops = all({(producer, f"create {type_}"), (consumer, f"process {type_}")} <= names
               for producer, type_, consumer in HOPS)
    return spans if hops and {"demo", "gateway", *SERVICES} <= {span.service for span in spans} else []


class TestTheDemoIsOneTrace:
    def test_the_demo_on_stack_is_one_trace_through_the_gateway_and_every_service(self, tmp_path, private_vhost,
                                                                                   pg_server_url, receiver):
        suffix, base = uuid.uuid4().hex[:8], free_port_row(len(SERVICES) + 1)  # the gateway's, then each service's
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABASE_URL", "AMQP_URL", "MARKETPLACE_", "PROMETHEUS_MULTIPROC_DIR"))}
        env.update(exporting_to(receiver), PAYOUT_HOLD="2s", REVIEW_WINDOW="1h", LOG_LEVEL="WARNING",
                   VAR_DIR=str(tmp_path / "var"), AMQP_URL=private_vhost, MARKETPLACE_URL=f"http://127.0.0.1:{base}")
        databases = {name: f"traces_{name}_{suffix}" for name in SERVICES}
        for name, database in databases.items():
            ensure_database(normalize_url(pg_server_url), database)
            env[f"DATABASE_URL_{name.upper()}"] = normalize_url(pg_server_url).set(database=database).render_as_string(
                hide_password=False)
        me = [sys.executable, "-m", "marketplace.cli"]
        stack = subprocess.Popen([*me, "stack", "--workers", "1", "--api-workers", "2", "--port-base", str(base)],
                                 cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            ready = [f"http://127.0.0.1:{base + i + 1}/ready" for i in range(len(SERVICES))]
            eventually(lambda: all(answers(url) for url in ready) or stack.poll() is not None, timeout=120,
                       interval=0.5, message="the stack ready")
            assert stack.poll() is None, stack.stdout.read()
            told = subprocess.run([*me, "demo", "--hold-wait", "30"], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=240)
            assert told.returncode == 0, told.stdout + told.stderr
            trace_id = re.search(r"^trace: ([0-9a-f]{32})$", told.stdout, re.MULTILINE).group(1)

            spans = eventually(lambda: told_whole(receiver.trace(trace_id)), timeout=60, message="every hop's spans")
        finally:
            stack.send_signal(signal.SIGINT)
            try:
                stack.wait(60)
            except subprocess.TimeoutExpired:
                stack.kill()
            regardless(*(lambda database=database: drop_database(pg_server_url, database)
                         for database in databases.values()))

        by_id = {span.span_id: span for span in spans}
        [story] = [span for span in spans if span.name == "demo story"]
        assert story.parent_id == ""
        hire = next(span for span in spans if span.service == "jobs" and span.kind == "server"
                    and span.name.endswith("/hire"))
        through = by_id[hire.parent_id]  # jobs' request span, under the gateway's, under the demo's call
        assert (through.service, through.kind) == ("gateway", "server")
        assert (by_id[through.parent_id].service, by_id[through.parent_id].kind) == ("demo", "client")
        for producer, type_, consumer in HOPS:
            create, process = the_span(spans, producer, f"create {type_}"), the_span(spans, consumer, f"process {type_}")
            assert (create.kind, process.kind) == ("producer", "consumer")
            assert process.parent_id == create.span_id, f"{consumer}'s {type_} span is not the producer's child"
            assert process.attributes["messaging.message.id"] == create.attributes["messaging.message.id"]
        funding = the_span(spans, "payments", "process contracts.milestone.funding_requested")
        statements = [span for span in spans if span.parent_id == funding.span_id and span.kind == "client"]
        assert any(span.attributes.get("db.system.name") == "postgresql" for span in statements), statements
        assert any(span.name == "send marketplace.events" and span.kind == "producer" for span in spans)
