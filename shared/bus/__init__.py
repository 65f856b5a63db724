"""The event bus: RabbitMQ through kombu, or the embedded in-process bus, behind one interface.

Both offer `declare(service, routing_keys)`, `publish(envelopes, settled) -> settled_now`,
`consume(runtime, consumer, stop)` and `close()`.
"""
from __future__ import annotations

from shared.config import Settings


class PublishError(RuntimeError):
    """The broker did not take a message (not confirmed, or unroutable)."""


def connect_bus(settings: Settings):
    if settings.embedded:
        from shared.bus.embedded import EmbeddedBus

        return EmbeddedBus.shared()
    from shared.bus.amqp import AmqpBus

    return AmqpBus(settings)
