"""Names and arguments of every exchange and queue; declaring them twice changes nothing."""
from __future__ import annotations

from datetime import timedelta

from kombu import Exchange, Queue, binding

DEAD_EXCHANGE = "marketplace.dead"
AUDIT_QUEUE = "marketplace.audit"


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


def audit_queue(exchange: Exchange, max_length: int) -> Queue:
    # Routability: bound to everything, so an event nobody consumes yet is still routed;
    # the length limit drops the oldest, so it never grows without bound.
    return Queue(AUDIT_QUEUE, exchange, routing_key="#", durable=True,
                 queue_arguments={"x-max-length": max_length, "x-overflow": "drop-head"})


def events_queue(service: str, exchange: Exchange, routing_keys: list[str]) -> Queue:
    return Queue(events_queue_name(service), durable=True,
                 bindings=[binding(exchange, routing_key=key) for key in routing_keys])


def retry_queue(service: str, delay: timedelta) -> Queue:
    # Retries: the message waits out its TTL, then the default exchange hands it back to
    # this service's own queue only, so other consumers never see a retry.
    return Queue(retry_queue_name(service, delay), durable=True, queue_arguments={
        "x-message-ttl": int(delay.total_seconds() * 1000),
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": events_queue_name(service),
    })


def dead_queue(service: str) -> Queue:
    return Queue(dead_queue_name(service), dead_exchange(), routing_key=service, durable=True)
