"""Names and arguments of every exchange and queue; declaring them twice changes nothing.

Queues are quorum queues (replicated over a RabbitMQ cluster's nodes: a node's loss loses no queue
and no message) unless the settings ask for classic ones (`QUEUE_TYPE=classic`, one broker node).
A queue's type and arguments cannot change in place: `marketplace topology` replaces a queue that
was declared otherwise (`shared.bus.migration`), and a worker meeting one says so and waits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from kombu import Exchange, Queue, binding

DEAD_EXCHANGE = "marketplace.dead"
AUDIT_QUEUE = "marketplace.audit"
QUORUM, CLASSIC = "quorum", "classic"


class QueueMismatch(RuntimeError):
    """The broker holds a queue of this name declared with another type or other arguments."""


@dataclass(frozen=True)
class Replication:
    """How queues are declared: their type and, for quorum ones, how often a message may be redelivered."""

    queue_type: str = QUORUM
    delivery_limit: int = 20

    @property
    def quorum(self) -> bool:
        return self.queue_type == QUORUM

    def arguments(self, **arguments) -> dict:
        return {"x-queue-type": QUORUM, **arguments} if self.quorum else arguments

    def dead_lettering(self, exchange: str, routing_key: str) -> dict:
        """Where a queue's expired or rejected messages go; on a quorum queue confirmed there before they
        leave (`at-least-once`, which RabbitMQ allows only with `reject-publish` overflow)."""
        where = {"x-dead-letter-exchange": exchange, "x-dead-letter-routing-key": routing_key}
        if self.quorum:
            where |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
        return where


def events_queue_name(service: str) -> str:
    return f"{service}.events"


def dead_queue_name(service: str) -> str:
    return f"{service}.dead"


def retry_queue_name(service: str, delay: timedelta) -> str:
    return f"{service}.retry.{delay.total_seconds():g}s"


def events_exchange(name: str) -> Exchange:
    return Exchange(name, type="topic", durable=True)


def dead_exchange() -> Exchange:
    return Exchange(DEAD_EXCHANGE, type="direct", durable=True)


def audit_queue(exchange: Exchange, max_length: int, replication: Replication = Replication()) -> Queue:
    # Routability: bound to everything, so an event nobody consumes yet is still routed;
    # the length limit drops the oldest, so it never grows without bound.
    # Replicated like the others: every event is routed here, and a confirm waits for every queue it
    # reached, so an audit queue on a lost node would have the broker refuse every publish.
    return Queue(AUDIT_QUEUE, exchange, routing_key="#", durable=True,
                 queue_arguments=replication.arguments(**{"x-max-length": max_length, "x-overflow": "drop-head"}))


def events_queue(service: str, exchange: Exchange, routing_keys: list[str],
                 replication: Replication = Replication()) -> Queue:
    # Parked, never dropped: a message redelivered past the limit (a consumer that crashes on it, again
    # and again, before it can decide) is dead-lettered to the service's dead letters.
    arguments = replication.arguments()
    if replication.quorum:
        arguments |= {"x-delivery-limit": replication.delivery_limit,
                      **replication.dead_lettering(DEAD_EXCHANGE, service)}
    return Queue(events_queue_name(service), durable=True, queue_arguments=arguments or None,
                 bindings=[binding(exchange, routing_key=key) for key in routing_keys])


def retry_queue(service: str, delay: timedelta, replication: Replication = Replication()) -> Queue:
    # Retries: the message waits out its TTL, then the default exchange hands it back to
    # this service's own queue only, so other consumers never see a retry.
    return Queue(retry_queue_name(service, delay), durable=True, queue_arguments=replication.arguments(
        **{"x-message-ttl": int(delay.total_seconds() * 1000)},
        **replication.dead_lettering("", events_queue_name(service))))


def dead_queue(service: str, replication: Replication = Replication()) -> Queue:
    # No delivery limit: peeking at dead letters (`marketplace dlq list`) hands each back, which counts.
    return Queue(dead_queue_name(service), dead_exchange(), routing_key=service, durable=True,
                 queue_arguments=replication.arguments() or None)


def service_queues(service: str, exchange: Exchange, routing_keys: list[str], retry_delays,
                   replication: Replication = Replication()) -> list[Queue]:
    """A consuming service's queues, in the order a migration replaces them: the retry queues first, so
    none of them hands a message to an events queue that is being replaced (a quorum one holds it until
    the queue is back), then the events queue, then the dead letters."""
    return [*(retry_queue(service, delay, replication) for delay in retry_delays),
            events_queue(service, exchange, routing_keys, replication), dead_queue(service, replication)]
