"""Dead letters for operators: over AMQP with pika, or from the embedded bus's table."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timezone
import pika

from shared.bus import topology
from shared.bus.brokers import broker_urls, pika_connection, pika_parameters  # noqa: F401 - pika_parameters: tests read it here
from shared.config import Settings
from shared.consumer import read_retries
from shared.db import Database, utcnow
from shared.events import UndecodableMessage
from shared.parked import ParkedMessages

CLEARED_HEADERS = ("x-retries", "x-error", "x-death", "x-first-death-exchange", "x-first-death-queue",
                   "x-first-death-reason", "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason",
                   "x-original-routing-key", "x-dead-at")


@dataclass
class DeadLetter:
    message_id: str
    type: str
    error: str
    retries: int | None  # None: the header holds no count
    dead_at: str
    body: bytes
    headers: dict = field(default_factory=dict)


class AmqpDeadLetters:
    """`<service>.dead` on RabbitMQ: peeked without taking, replayed to `<service>.events` only."""

    def __init__(self, settings: Settings, service: str):
        self.url = settings.amqp_url
        self.queue = topology.dead_queue_name(service)
        self.target = topology.events_queue_name(service)
        self.user = pika_parameters(broker_urls(self.url)[0]).credentials.username

    def _channel(self):
        connection = pika_connection(self.url)
        return connection, connection.channel()

    def _walk(self, channel, limit: int):
        count = channel.queue_declare(self.queue, passive=True).method.message_count
        for _ in range(min(count, limit)):
            method, properties, body = channel.basic_get(self.queue, auto_ack=False)
            if method is None:
                return
            yield method, properties, body

    def list(self, limit: int = 1000) -> list[DeadLetter]:
        connection, channel = self._channel()
        try:
            return [_letter(properties, body) for _, properties, body in self._walk(channel, limit)]
        finally:
            connection.close()  # Unacked messages go back to the queue untouched.

    def replay(self, message_ids: set[str] | None, limit: int = 100000) -> int:
        connection, channel = self._channel()
        channel.confirm_delivery()
        replayed = 0
        try:
            for method, properties, body in list(self._walk(channel, limit)):
                if message_ids is not None and properties.message_id not in message_ids:
                    continue
                headers = {k: v for k, v in (properties.headers or {}).items() if k not in CLEARED_HEADERS}
                headers["x-replayed-at"] = utcnow().isoformat()
                channel.basic_publish("", self.target, body, pika.BasicProperties(
                    content_type=properties.content_type, content_encoding=properties.content_encoding,
                    message_id=properties.message_id, type=properties.type,
                    correlation_id=properties.correlation_id, delivery_mode=2, headers=headers,
                    # Provenance: the consumer believes the publisher its header records only on a copy
                    # from its own broker user or a replay user (AMQP_REPLAYERS), and the broker
                    # checks this user_id is ours.
                    user_id=self.user), mandatory=True)
                channel.basic_ack(method.delivery_tag)
                replayed += 1
        finally:
            connection.close()
        return replayed

    def purge(self) -> int:
        connection, channel = self._channel()
        try:
            return channel.queue_purge(self.queue).method.message_count
        finally:
            connection.close()


class EmbeddedDeadLetters:
    """The embedded bus parks dead letters in the service's own `dead_letters` table."""

    def __init__(self, database: Database):
        self.parked = ParkedMessages(database)

    def list(self, limit: int = 1000) -> list[DeadLetter]:
        return [DeadLetter(dead.message_id or str(dead.id), dead.type or "?", dead.error, dead.retries,
                           dead.dead_at.astimezone(timezone.utc).isoformat(), dead.body.encode())
                for dead in self.parked.dead(limit)]

    def replay(self, message_ids: set[str] | None, limit: int = 100000) -> int:
        """Hands each message back to the running `dev` process as a retry due now."""
        return self.parked.replay(message_ids, limit)

    def purge(self) -> int:
        return self.parked.purge()


def dead_letters(settings: Settings, service: str):
    if settings.embedded:
        return EmbeddedDeadLetters(Database(settings.database_url(service)))
    return AmqpDeadLetters(settings, service)


def _letter(properties, body: bytes) -> DeadLetter:
    headers = dict(properties.headers or {})
    # A quorum queue dead-letters by itself a message redelivered past its delivery limit: the broker's
    # `x-death` says why and when, where the consumer's own `x-error` and `x-dead-at` are missing.
    death = (headers.get("x-death") or [{}])[0]
    error = headers.get("x-error") or (f"the broker dead-lettered it from {death.get('queue')}: {death['reason']}"
                                       if death.get("reason") else "")
    dead_at = headers.get("x-dead-at") or (death["time"].isoformat() if hasattr(death.get("time"), "isoformat") else "")
    return DeadLetter(properties.message_id or "?", properties.type or headers.get("x-original-routing-key") or "?",
                      str(error), _retries(headers.get("x-retries")), str(dead_at), body, headers)


def _retries(value: object) -> int | None:
    """The letter's count of retries, or None when its header holds something else (it may be why it is here)."""
    try:
        return read_retries(value)
    except UndecodableMessage:
        return None


def pretty(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, sort_keys=True)
    except ValueError:
        return body.decode("utf-8", "replace")
