"""The bus on RabbitMQ through kombu: confirmed, mandatory publishing; delay-tier retries; dead letters."""
from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterable

from amqp.exceptions import PreconditionFailed
from kombu import Connection, Producer

from shared.bus import topology
from shared.bus.brokers import failover_attempts, spread
from shared.bus.migration import Step, migrate
from shared.config import Settings
from shared.consumer import Delivery, Outcome, Result
from shared.events import Envelope
from shared.provenance import PUBLISHED_BY, published_by

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT = 10
PUBLISH_ATTEMPTS = 3
PREFETCH = 20


class PublishError(RuntimeError):
    """The broker did not take a message (not confirmed, or unroutable)."""


class ConfirmTimeout(PublishError):
    """The broker confirmed nothing in time; the channel's count of what it awaits is no longer to be trusted."""


class _Returned:
    """Collects messages the broker returned as unroutable (they arrive before their confirm)."""

    def __init__(self):
        self.ids: set[str] = set()

    def __call__(self, exception, exchange, routing_key, message):
        self.ids.add(message.properties.get("message_id") or routing_key)


class _Confirms:
    """Publisher confirms for a whole batch: publish every message, then wait once for the broker's acks.

    Waiting message by message costs a round trip (and the broker's disk flush) each; a batch shares them."""

    def __init__(self, connection: Connection, channel):
        self.connection = connection
        self.published = 0  # delivery tags count from 1 on a channel in confirm mode
        self.unconfirmed: set[int] = set()
        self.nacked: set[int] = set()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)

    def sent(self) -> int:
        self.published += 1
        self.unconfirmed.add(self.published)
        return self.published

    def wait(self, timeout: float) -> set[int]:
        """Block until every published message is confirmed; returns the tags the broker refused."""
        deadline = time.monotonic() + timeout
        while self.unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConfirmTimeout(f"{len(self.unconfirmed)} message(s) not confirmed within {timeout}s")
            try:
                self.connection.drain_events(timeout=remaining)
            except socket.timeout:
                continue
        nacked, self.nacked = self.nacked, set()
        return nacked

    def _settle(self, tag: int, multiple: bool) -> set[int]:
        settled = {t for t in self.unconfirmed if t <= tag} if multiple else {tag} & self.unconfirmed
        self.unconfirmed -= settled
        return settled

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self.nacked |= self._settle(delivery_tag, multiple)


class AmqpBus:
    def __init__(self, settings: Settings, *, exchange: str | None = None):
        self.url = spread(settings.amqp_url)
        self.exchange = topology.events_exchange(exchange or settings.exchange)
        self.audit_max_length = settings.audit_max_length
        self.retry_delays = settings.retry_delays
        # Provenance: what it publishes carries the user it connects as, which the broker checks.
        self.user = Connection(self.url).userid or ""
        self.replayers = settings.replayers
        self.replication = topology.Replication(settings.queue_type, settings.delivery_limit)
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._confirms: _Confirms | None = None
        self._returned = _Returned()

    def connection(self, *, confirm_publish: bool = True, **kwargs) -> Connection:
        """`confirm_publish`: every publish waits for its own confirm (the batch publisher confirms itself)."""
        return Connection(self.url, transport_options={"confirm_publish": confirm_publish}, connect_timeout=5, **kwargs)

    # Topology ---------------------------------------------------------------------------

    def declare(self, queue: str | None = None, routing_keys: Iterable[str] = (),
                connection: Connection | None = None) -> None:
        """Declare the exchanges, the audit queue and (for a service, `queue`) its queues. Idempotent."""
        own = connection is None
        connection = connection or self.connection()
        try:
            channel = connection.default_channel
            for exchange in self.exchanges():
                exchange.bind(channel).declare()
            for declared in self.queues(queue, routing_keys):
                declared.bind(channel).declare()
        except PreconditionFailed as error:
            raise topology.QueueMismatch(f"{error.reply_text}: the broker holds a queue declared otherwise "
                                         f"(another QUEUE_TYPE or limit); `marketplace topology` replaces it") from error
        finally:
            if own:
                connection.release()

    def exchanges(self) -> list:
        return [self.exchange, topology.dead_exchange()]

    def queues(self, queue: str | None = None, routing_keys: Iterable[str] = (), *, audit: bool = True) -> list:
        """The audit queue and (for a service, `queue`) its queues, as the settings declare them."""
        queues = [topology.audit_queue(self.exchange, self.audit_max_length, self.replication)] if audit else []
        if queue:
            queues += topology.service_queues(queue, self.exchange, list(routing_keys), self.retry_delays,
                                              self.replication)
        return queues

    # Publishing -------------------------------------------------------------------------

    def publish(self, envelopes: list[Envelope], settled: Callable[[list[Envelope]], None] | None = None,
                unsettled: Callable[[list[Envelope], str], None] | None = None) -> list[Envelope]:
        """Publish the batch and wait for the broker's confirms; unroutable, refused or unconfirmed is an error."""
        with self._lock:
            for attempt in range(1, PUBLISH_ATTEMPTS + 1):
                try:
                    self._publish_batch(envelopes)
                    return envelopes
                except ConfirmTimeout:
                    # Confirms still owed on this channel would be counted against the next batch: start afresh.
                    self._reset()
                    raise
                except PublishError:
                    raise
                except Exception as error:  # noqa: BLE001 - connection trouble: reconnect, bounded
                    self._reset()
                    if attempt == PUBLISH_ATTEMPTS:
                        raise PublishError(f"could not publish after {attempt} attempts: {error!r}") from error
                    time.sleep(0.2 * attempt)
        return envelopes

    def _publish_batch(self, envelopes: list[Envelope]) -> None:
        producer, confirms = self._ensure_producer()
        tags = {}
        for envelope in envelopes:
            self._returned.ids.discard(envelope.id)
            producer.publish(
                envelope.to_json().encode(), exchange=self.exchange, routing_key=envelope.type,
                content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                message_id=envelope.id, type=envelope.type, correlation_id=envelope.correlation_id,
                headers={"producer": envelope.producer}, user_id=self.user, mandatory=True, retry=False,
            )
            tags[confirms.sent()] = envelope
        nacked = confirms.wait(CONFIRM_TIMEOUT)
        unroutable = [envelope for envelope in envelopes if envelope.id in self._returned.ids]
        self._returned.ids.difference_update(envelope.id for envelope in unroutable)
        if unroutable:
            raise PublishError(f"unroutable: no queue is bound for {unroutable[0].type!r} on {self.exchange.name}")
        if nacked:
            raise PublishError(f"the broker refused {len(nacked)} message(s), e.g. {tags[min(nacked)].type!r}")

    def _ensure_producer(self) -> tuple[Producer, _Confirms]:
        if self._producer is None:
            self._connection = self.connection(confirm_publish=False)
            self._connection.ensure_connection(max_retries=failover_attempts(self.url))
            channel = self._connection.channel()
            self._confirms = _Confirms(self._connection, channel)
            self._producer = Producer(channel, on_return=self._returned)
        return self._producer, self._confirms

    def _reset(self) -> None:
        try:
            if self._connection is not None:
                self._connection.release()
        except Exception:  # noqa: BLE001 - it is being thrown away
            pass
        self._connection = self._producer = self._confirms = None

    def ping(self) -> None:
        with self.connection() as connection:
            connection.ensure_connection(max_retries=failover_attempts(self.url))

    def close(self) -> None:
        with self._lock:
            self._reset()

    # Consuming --------------------------------------------------------------------------

    def consume(self, queue: str, routing_keys: Iterable[str], handler, stop: threading.Event,
                ready: threading.Event | None = None, *, parked=None, batch=None, batch_size: int = 1) -> None:
        """Consume `<queue>.events` until `stop` is set, reconnecting with backoff.

        With `batch` (see `BatchHandler`), the deliveries already waiting on the connection when one arrives,
        up to `batch_size` in all, are decided on together, then each is settled. Retries and dead letters wait
        on the broker (`<queue>.retry.*`, `<queue>.dead`); `parked` is unused."""
        routing_keys = list(routing_keys)
        limit = batch_size if batch is not None else 1
        backoff = 0.5
        while not stop.is_set():
            try:
                with self.connection(heartbeat=30) as connection:
                    self.declare(queue, routing_keys, connection)
                    returned = _Returned()
                    side = Producer(connection.channel(), on_return=returned)
                    events = topology.events_queue(queue, self.exchange, routing_keys, self.replication)
                    arrived: list = []
                    with connection.Consumer([events], on_message=arrived.append,
                                             prefetch_count=max(PREFETCH, limit)):
                        if ready is not None:
                            ready.set()
                        backoff = 0.5
                        while not stop.is_set():
                            # Liveness: waiting for a copy's confirm (`_forward`) reads whatever else the
                            # connection brings, so deliveries may be waiting here already; no frame may
                            # come to wake us for them.
                            if not arrived:
                                try:
                                    connection.drain_events(timeout=0.5)
                                except socket.timeout:
                                    connection.heartbeat_check()
                                    continue
                            _take_waiting(connection, arrived, limit)
                            received, arrived[:] = arrived[:limit], arrived[limit:]
                            self._settle(queue, handler, batch, side, returned, received)
            except Exception as error:  # noqa: BLE001 - the broker went away: reconnect
                if ready is not None:
                    ready.clear()  # not subscribed until the next connection is (the worker's /ready)
                if stop.is_set():
                    break
                log.warning("%s consumer: connection lost (%r); reconnecting in %.1fs", queue, error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10)

    def _settle(self, service: str, handler, batch, side: Producer, returned: _Returned, received: list) -> None:
        """Decide on the messages received (together when there are several and a batch handler), then answer each."""
        read = [self._delivery(message) for message in received]
        results: list[Result | None] = [None] * len(received)
        readable = [index for index, (delivery, _headers) in enumerate(read) if delivery is not None]
        if batch is not None and len(readable) > 1:
            try:
                for index, result in zip(readable, batch([read[index][0] for index in readable])):
                    results[index] = result
            except Exception:  # noqa: BLE001 - the batch handler never raises; should it, each is decided alone
                log.exception("%s consumer: could not decide on a batch of %d; deciding on each alone",
                              service, len(readable))
                results = [None] * len(received)
        for index, message in enumerate(received):
            delivery, headers = read[index]
            if results[index] is None:
                results[index] = self._decide(service, handler, message, delivery)
            # A forward that raises leaves this message and the rest unacked on purpose (see `_answer`).
            self._answer(service, side, returned, message, headers, results[index])

    def _delivery(self, message) -> tuple[Delivery | None, dict]:
        """The message as the consumer reads it, and the headers its copies carry; (None, headers) if even that
        fails."""
        sender = ""
        try:
            headers = dict(message.headers or {})
            sender = published_by(message.properties.get("user_id"), headers, self.user, self.replayers)
            headers[PUBLISHED_BY] = sender  # its copies (retries, dead letters) say who published the original
            return Delivery(message.body, headers.get("x-retries"), sender), headers
        except Exception:  # noqa: BLE001 - decided on as a message nobody can read (`_decide`)
            return None, {**_readable(message), PUBLISHED_BY: sender}

    def _decide(self, service: str, handler, message, delivery: Delivery | None) -> Result:
        try:
            if delivery is None:
                raise ValueError("its properties or headers cannot be read")
            return handler(*delivery)
        except Exception as error:  # noqa: BLE001 - the last resort: a message nobody could decide on is dead
            # Totality: the handler says what to do with every message and never raises; should it raise
            # all the same, the message must not stay unacked, to be redelivered first forever.
            log.exception("%s consumer: could not decide on message %s; dead-lettered",
                          service, message.properties.get("message_id"))
            return Result(Outcome.DEAD, error=f"the consumer failed on it: {type(error).__name__}: {error}"[:2000])

    def _answer(self, service: str, side: Producer, returned: _Returned, message, headers: dict,
                result: Result) -> None:
        if result.outcome is Outcome.RETRY:
            self._forward(side, returned, message, exchange="", routing_key=topology.retry_queue_name(service, result.delay),
                          headers={**headers, "x-retries": result.retries, "x-error": result.error})
        elif result.outcome is Outcome.DEAD:
            self._forward(side, returned, message, exchange=topology.DEAD_EXCHANGE, routing_key=service, headers={
                **headers, "x-retries": result.retries, "x-error": result.error or "unknown",
                "x-original-routing-key": message.properties.get("type") or message.delivery_info.get("routing_key"),
                "x-dead-at": datetime.now(timezone.utc).isoformat(),
            })
        # A forward that raised (the broker lost our retry or dead queue, or the connection) leaves the message
        # unacked on purpose: acking would lose it. The consumer reconnects, declares its queues again and the
        # redelivered message is decided on afresh.
        message.ack()

    def _forward(self, side: Producer, returned: _Returned, message, *, exchange: str, routing_key: str,
                 headers: dict) -> None:
        # Ordering: the copy is confirmed before the original is acked, so a crash in
        # between duplicates the message (the inbox absorbs it) but never loses it; a copy
        # the broker could not route raises, so the original is redelivered, not acked.
        properties = message.properties
        marker = properties.get("message_id") or routing_key
        returned.ids.discard(marker)
        side.publish(message.body, exchange=exchange, routing_key=routing_key, headers=headers,
                     content_type=message.content_type or "application/octet-stream",
                     content_encoding=message.content_encoding or "binary",
                     message_id=properties.get("message_id"), type=properties.get("type"),
                     correlation_id=properties.get("correlation_id"), user_id=self.user, delivery_mode=2, mandatory=True,
                     timeout=CONFIRM_TIMEOUT, retry=False)
        if marker in returned.ids:
            raise PublishError(f"{routing_key} is missing on the broker; the message stays on its queue")


def _take_waiting(connection: Connection, arrived: list, limit: int) -> None:
    """Add to `arrived` the deliveries already waiting on the connection, without waiting for more."""
    while len(arrived) < limit:
        before = len(arrived)
        try:
            connection.drain_events(timeout=0)
        except socket.timeout:
            return
        if len(arrived) == before:  # a frame that was not a delivery (a confirm, a heartbeat)
            return


def _readable(message) -> dict:
    """The message's headers, or none if even they cannot be read."""
    try:
        return dict(message.headers or {})
    except Exception:  # noqa: BLE001 - a dead letter without the original headers is still a dead letter
        return {}


def declare_all(settings: Settings, services: dict[str, list[str]]) -> list[Step]:
    """The whole topology (`services`: each consuming service's routing keys), replacing any queue the broker
    holds declared otherwise (`shared.bus.migration`); returns what was done to each queue."""
    return migrate(AmqpBus(settings), services)
