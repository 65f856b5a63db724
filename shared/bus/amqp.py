"""The bus on RabbitMQ through kombu: confirmed, mandatory publishing; delay-tier retries; dead letters."""
from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime, timezone

from kombu import Connection, Producer

from shared.bus import PublishError
from shared.bus import topology
from shared.config import Settings
from shared.consumer import Outcome
from shared.events import Envelope

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT = 10
PUBLISH_ATTEMPTS = 3
PREFETCH = 20


class _Returned:
    """Collects messages the broker returned as unroutable (they arrive before their confirm)."""

    def __init__(self):
        self.ids: set[str] = set()

    def __call__(self, exception, exchange, routing_key, message):
        self.ids.add(message.properties.get("message_id") or routing_key)


class AmqpBus:
    def __init__(self, settings: Settings, *, exchange: str | None = None):
        self.url = settings.amqp_url
        self.exchange = topology.events_exchange(exchange or settings.exchange)
        self.audit_max_length = settings.audit_max_length
        self.retry_delays = settings.retry_delays
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._producer: Producer | None = None
        self._returned = _Returned()

    def connection(self, **kwargs) -> Connection:
        return Connection(self.url, transport_options={"confirm_publish": True}, connect_timeout=5, **kwargs)

    # Topology ---------------------------------------------------------------------------

    def declare(self, service: str | None = None, routing_keys: list[str] = (), connection: Connection | None = None) -> None:
        """Declare the exchanges, the audit queue and (for a service) its queues. Idempotent."""
        own = connection is None
        connection = connection or self.connection()
        try:
            channel = connection.default_channel
            self.exchange.bind(channel).declare()
            topology.dead_exchange().bind(channel).declare()
            topology.audit_queue(self.exchange, self.audit_max_length).bind(channel).declare()
            if service:
                topology.events_queue(service, self.exchange, list(routing_keys)).bind(channel).declare()
                for delay in self.retry_delays:
                    topology.retry_queue(service, delay).bind(channel).declare()
                topology.dead_queue(service).bind(channel).declare()
        finally:
            if own:
                connection.release()

    # Publishing -------------------------------------------------------------------------

    def publish(self, envelopes: list[Envelope], settled=None) -> list[Envelope]:
        """Publish and wait for the broker's confirm; unroutable or unconfirmed is an error."""
        with self._lock:
            for attempt in range(1, PUBLISH_ATTEMPTS + 1):
                try:
                    producer = self._ensure_producer()
                    for envelope in envelopes:
                        self._publish_one(producer, envelope)
                    return envelopes
                except PublishError:
                    raise
                except Exception as error:  # noqa: BLE001 - connection trouble: reconnect, bounded
                    self._reset()
                    if attempt == PUBLISH_ATTEMPTS:
                        raise PublishError(f"could not publish after {attempt} attempts: {error!r}") from error
                    time.sleep(0.2 * attempt)
        return envelopes

    def _publish_one(self, producer: Producer, envelope: Envelope) -> None:
        self._returned.ids.discard(envelope.id)
        producer.publish(
            envelope.to_json().encode(), exchange=self.exchange, routing_key=envelope.type,
            content_type="application/json", content_encoding="utf-8", delivery_mode=2,
            message_id=envelope.id, type=envelope.type, correlation_id=envelope.correlation_id,
            headers={"producer": envelope.producer}, mandatory=True, timeout=CONFIRM_TIMEOUT, retry=False,
        )
        if envelope.id in self._returned.ids:
            self._returned.ids.discard(envelope.id)
            raise PublishError(f"unroutable: no queue is bound for {envelope.type!r} on {self.exchange.name}")

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            self._connection = self.connection()
            self._connection.ensure_connection(max_retries=1)
            self._producer = Producer(self._connection.channel(), on_return=self._returned)
        return self._producer

    def _reset(self) -> None:
        try:
            if self._connection is not None:
                self._connection.release()
        except Exception:  # noqa: BLE001 - it is being thrown away
            pass
        self._connection = self._producer = None

    def ping(self) -> None:
        with self.connection() as connection:
            connection.ensure_connection(max_retries=1)

    def close(self) -> None:
        with self._lock:
            self._reset()

    # Consuming --------------------------------------------------------------------------

    def consume(self, runtime, consumer, stop: threading.Event, ready: threading.Event | None = None) -> None:
        """Consume `<service>.events` until `stop` is set, reconnecting with backoff."""
        service = runtime.service.name
        backoff = 0.5
        while not stop.is_set():
            try:
                with self.connection(heartbeat=30) as connection:
                    self.declare(service, consumer.routing_keys, connection)
                    returned = _Returned()
                    side = Producer(connection.channel(), on_return=returned)
                    queue = topology.events_queue(service, self.exchange, consumer.routing_keys)
                    handler = lambda message: self._on_message(service, consumer, side, returned, message)  # noqa: E731
                    with connection.Consumer([queue], on_message=handler, prefetch_count=PREFETCH):
                        if ready is not None:
                            ready.set()
                        backoff = 0.5
                        while not stop.is_set():
                            try:
                                connection.drain_events(timeout=0.5)
                            except socket.timeout:
                                connection.heartbeat_check()
            except Exception as error:  # noqa: BLE001 - the broker went away: reconnect
                if stop.is_set():
                    break
                log.warning("%s consumer: connection lost (%r); reconnecting in %.1fs", service, error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10)

    def _on_message(self, service: str, consumer, side: Producer, returned: _Returned, message) -> None:
        headers = message.headers or {}
        result = consumer.process(message.body, int(headers.get("x-retries", 0) or 0))
        if result.outcome is Outcome.RETRY:
            self._forward(side, returned, message, exchange="", routing_key=topology.retry_queue_name(service, result.delay),
                          headers={**headers, "x-retries": result.retries, "x-error": result.error})
        elif result.outcome is Outcome.DEAD:
            self._forward(side, returned, message, exchange=topology.DEAD_EXCHANGE, routing_key=service, headers={
                **headers, "x-retries": result.retries, "x-error": result.error or "unknown",
                "x-original-routing-key": message.properties.get("type") or message.delivery_info.get("routing_key"),
                "x-dead-at": datetime.now(timezone.utc).isoformat(),
            })
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
                     correlation_id=properties.get("correlation_id"), delivery_mode=2, mandatory=True,
                     timeout=CONFIRM_TIMEOUT, retry=False)
        if marker in returned.ids:
            raise PublishError(f"{routing_key} is missing on the broker; the message stays on its queue")


def declare_all(settings: Settings, services: dict[str, list[str]]) -> None:
    bus = AmqpBus(settings)
    with bus.connection() as connection:
        bus.declare(None, (), connection)
        for service, keys in services.items():
            bus.declare(service, keys, connection)

