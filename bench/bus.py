"""The bus: events/s through the whole path against raw pika and raw PostgreSQL on the same servers.

The whole path is the kit as services use it: a producer process commits each event to its outbox
in a transaction of its own and its relay publishes it (confirmed, mandatory); the consumer process
takes it off its queue, writes its inbox row and the handler's effect in one transaction, commits,
then acks. The baselines move the same bodies with nothing else around them:

- raw pika: a publisher process and a consumer process, persistent messages on a durable queue,
  manual acks at the kit's prefetch, with publisher confirms one by one (the guarantee the outbox
  needs) and without any (the broker's ceiling);
- raw PostgreSQL: one insert of the same body and a commit, in a loop, on 1 and on 4 connections.
"""
from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pika
import psycopg
import sqlalchemy as sa
from kombu import Connection

from bench.profile import sampled
from shared.bus.amqp import PREFETCH
from shared.config import Settings
from shared.db import Database, drop_database, ensure_database, normalize_url, utcnow
from shared.events import OWNERS, Envelope
from shared.ids import new_id
from shared.provenance import Publishers
from shared.runtime import Runtime
from shared.service import Service
from shared.tables import InboxRow, KitBase, OutboxRow
from shared.worker import Worker
from tests.faults.suite import Broker

EVENT = "users.user.registered"
PRODUCERS = 4  # request threads of one API process under the default `--threads 4`


def sample(number: int = 0) -> dict:
    return {"user_id": new_id(), "email": f"bench-{number}@example.com", "name": "Bench User",
            "roles": ["freelancer"]}


def body() -> bytes:
    return Envelope.new(EVENT, sample(), producer="users", correlation_id=new_id()).to_json().encode()


def run(out_dir: Path, *, amqp_url: str, pg_url: str, quick: bool) -> dict:
    events = 2000 if quick else 10000
    seconds = 3 if quick else 10
    with scratch(amqp_url, pg_url) as (vhost_url, database):
        message = body()
        return {
            "events": events, "bytes": len(message), "prefetch": PREFETCH, "producers": PRODUCERS,
            "postgres": {str(n): raw_commits(database("raw"), message, connections=n, seconds=seconds) for n in (1, 4)},
            "pika": {kind: raw_pika(vhost_url, message, events, confirm=kind == "confirmed")
                     for kind in ("confirmed", "unconfirmed")},
            "consumer_batch": Settings().consumer_batch,
            "path": whole_path(vhost_url, database("source"), database("sink"), events),
            "path_alone": whole_path(vhost_url, database("source3"), database("sink3"), events, batch=1),
            "drain": drain(vhost_url, database("source2"), database("sink2"), events),
        }


@contextmanager
def scratch(amqp_url: str, pg_url: str):
    """A vhost and databases of the run's own, dropped at the end whatever happens."""
    suffix = uuid.uuid4().hex[:8]
    broker = Broker.of(amqp_url)
    vhosts = broker.vhosts()
    vhost = f"bench_bus_{suffix}"
    vhosts.add(vhost)
    server = normalize_url(pg_url)
    made: list[str] = []

    def database(name: str) -> str:
        made.append(f"bench_{suffix}_{name}")
        ensure_database(server, made[-1])
        return server.set(database=made[-1]).render_as_string(hide_password=False)

    try:
        yield broker.url(vhost), database
    finally:
        for name in made:
            drop_database(server, name)
        vhosts.delete(vhost)


def summary(latencies_ms: list[float]) -> dict:
    if not latencies_ms:
        return {"p50_ms": None, "p99_ms": None}
    ordered = sorted(latencies_ms)
    return {"p50_ms": round(statistics.median(ordered), 2), "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2)}


# Raw PostgreSQL ------------------------------------------------------------------------

def raw_commits(url: str, message: bytes, *, connections: int, seconds: float) -> dict:
    dsn = normalize_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS commits (id text PRIMARY KEY, body text NOT NULL)")
    latencies: list[list[float]] = [[] for _ in range(connections)]
    deadline = time.monotonic() + seconds

    def loop(mine: list[float]) -> None:
        with psycopg.connect(dsn) as connection:
            text = message.decode()
            while time.monotonic() < deadline:
                began = time.perf_counter()
                connection.execute("INSERT INTO commits (id, body) VALUES (%s, %s)", (new_id(), text))
                connection.commit()
                mine.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=loop, args=(mine,)) for mine in latencies]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [x for mine in latencies for x in mine]
    return {"commits_per_s": round(len(every) / (time.monotonic() - began), 1), **summary(every)}


# Raw pika ---------------------------------------------------------------------------------

def raw_pika(url: str, message: bytes, count: int, *, confirm: bool) -> dict:
    queue = f"bench.raw.{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.channel().queue_declare(queue, durable=True)
    connection.close()
    spawn = multiprocessing.get_context("spawn")
    received = spawn.Queue()
    ready = spawn.Event()
    consumer = spawn.Process(target=_pika_consume, args=(url, queue, count, ready, received))
    consumer.start()
    ready.wait(30)
    publisher = spawn.Process(target=_pika_publish, args=(url, queue, message, count, confirm))
    began = time.time()
    publisher.start()
    publisher.join()
    ended, latencies = received.get(timeout=600)
    consumer.join()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.channel().queue_delete(queue)
    connection.close()
    return {"messages_per_s": round(count / (ended - began), 1), **summary(latencies)}


def _pika_publish(url: str, queue: str, message: bytes, count: int, confirm: bool) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    if confirm:
        channel.confirm_delivery()
    for _ in range(count):
        properties = pika.BasicProperties(delivery_mode=2, content_type="application/json",
                                          headers={"sent_us": time.time_ns() // 1000}, message_id=new_id())
        channel.basic_publish("", queue, message, properties, mandatory=confirm)
    connection.close()


def _pika_consume(url: str, queue: str, count: int, ready, received) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=PREFETCH)
    latencies: list[float] = []
    ready.set()
    for method, properties, _ in channel.consume(queue):
        channel.basic_ack(method.delivery_tag)
        latencies.append((time.time_ns() // 1000 - properties.headers["sent_us"]) / 1000)
        if len(latencies) == count:
            break
    received.put((time.time(), latencies))
    channel.cancel()
    connection.close()


# The whole path ---------------------------------------------------------------------------

_NO_MIGRATIONS = Path(__file__).parent / "no_migrations"


def _service(name: str, handlers: dict) -> Service:
    return Service(name=name, metadata=KitBase.metadata, migrations=_NO_MIGRATIONS, handlers=handlers,
                   producer=OWNERS[EVENT])


def _handled(event, uow) -> None:
    """The consumer's handler: its effect is the inbox row written in the same transaction."""


def _runtime(name: str, url: str, amqp_url: str, handlers: dict, batch: int | None = None) -> Runtime:
    # One broker user for the source and the sink: the event's producer publishes as it.
    settings = Settings(amqp_url=amqp_url, database_urls={name: url},
                        publishers=Publishers.everyone(Connection(amqp_url).userid))
    if batch is not None:
        settings = settings.replace(consumer_batch=batch)
    runtime = Runtime(_service(name, handlers), settings)
    runtime.migrate()
    return runtime


def _sink(url: str, amqp_url: str, ready, stop, batch: int | None = None) -> None:
    """The consuming service as its worker process runs it (`batch`: its CONSUMER_BATCH, else the default)."""
    worker = Worker(_runtime("benchsink", url, amqp_url, {EVENT: _handled}, batch)).start()
    worker.consuming.wait(30)
    ready.set()
    with sampled(f"consumer-{os.getpid()}"):
        stop.wait()
    worker.stop()
    worker.runtime.close()


def _source(url: str, amqp_url: str, count: int, go) -> None:
    """The producing service as an API process runs it: one transaction per event, publish after commit."""
    runtime = _runtime("benchsource", url, amqp_url, {})
    go.wait()

    def produce(numbers: range) -> None:
        for number in numbers:
            with runtime.unit_of_work() as uow:
                uow.emit(EVENT, sample(number))

    threads = [threading.Thread(target=produce, args=(range(i, count, PRODUCERS),)) for i in range(PRODUCERS)]
    with sampled("producer"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    runtime.close()


def whole_path(amqp_url: str, source_url: str, sink_url: str, count: int, *, batch: int | None = None) -> dict:
    """Events through the kit as services run it; `batch` sets the consumer's CONSUMER_BATCH (1: a
    transaction for each delivery, as before batches)."""
    _declare(amqp_url, sink_url)
    spawn = multiprocessing.get_context("spawn")
    ready, stop, go = spawn.Event(), spawn.Event(), spawn.Event()
    sink = spawn.Process(target=_sink, args=(sink_url, amqp_url, ready, stop, batch))
    sink.start()
    source = spawn.Process(target=_source, args=(source_url, amqp_url, count, go))
    source.start()
    ready.wait(60)
    time.sleep(1)  # the source's own start-up (imports, migrations) is not part of the path
    began = utcnow()
    go.set()
    try:
        return _measure(source_url, sink_url, count, began, watch=[sink, source])
    finally:
        source.join(60)
        stop.set()
        sink.join(30)


def drain(amqp_url: str, source_url: str, sink_url: str, count: int) -> dict:
    """A backlog in the outbox published by the relay's sweep alone (after an outage, say)."""
    _declare(amqp_url, sink_url)
    runtime = _runtime("benchsource", source_url, amqp_url, {})
    with runtime.db.transaction() as session:
        for number in range(count):
            envelope = Envelope.new(EVENT, sample(number), producer=OWNERS[EVENT], correlation_id=new_id())
            session.add(OutboxRow(id=envelope.id, type=EVENT, body=envelope.to_json(), attempts=0))
    runtime.close()
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    sink = spawn.Process(target=_sink, args=(sink_url, amqp_url, ready, stop))
    sink.start()
    ready.wait(60)
    relay = spawn.Process(target=_relay, args=(source_url, amqp_url, stop))
    began = utcnow()
    relay.start()
    try:
        return _measure(source_url, sink_url, count, began, watch=[sink, relay], latency=False)
    finally:
        stop.set()
        relay.join(30)
        sink.join(30)


def _relay(url: str, amqp_url: str, stop) -> None:
    with sampled("relay"):
        worker = Worker(_runtime("benchsource", url, amqp_url, {})).start()
        stop.wait()
    worker.stop()
    worker.runtime.close()


def _declare(amqp_url: str, sink_url: str) -> None:
    runtime = _runtime("benchsink", sink_url, amqp_url, {EVENT: _handled})
    Worker(runtime).declare()
    runtime.close()


def _measure(source_url: str, sink_url: str, count: int, began, *, watch: list, latency: bool = True) -> dict:
    sink = Database(sink_url)
    try:
        deadline = time.monotonic() + 600
        while True:
            with sink.transaction() as session:
                handled = session.scalar(sa.select(sa.func.count()).select_from(InboxRow))
            if handled >= count:
                break
            failed = [process.name for process in watch if process.exitcode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                raise RuntimeError(f"the bus path stalled at {handled} of {count} events (failed: {failed})")
            time.sleep(0.05)
        with sink.transaction() as session:
            handled_at = dict(session.execute(sa.select(InboxRow.event_id, InboxRow.handled_at)).all())
    finally:
        sink.dispose()
    elapsed = (max(handled_at.values()) - began).total_seconds()
    result = {"handled": len(handled_at), "events_per_s": round(len(handled_at) / elapsed, 1)}
    if latency:
        source = Database(source_url)
        try:
            with source.transaction() as session:
                created = dict(session.execute(sa.select(OutboxRow.id, OutboxRow.created_at)).all())
        finally:
            source.dispose()
        result |= summary([(at - created[id_]).total_seconds() * 1000 for id_, at in handled_at.items() if id_ in created])
    return result
