"""The event bus: RabbitMQ through kombu, or the embedded in-process bus, behind one interface.

A bus is only a transport: it carries envelopes from an outbox to the consumers subscribed to
their type and hands each delivery to the consumer's handler; what a delivery means is the
handler's business, where a failed one waits is the bus's.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable, Protocol

from shared.bus.amqp import AmqpBus, PublishError
from shared.bus.embedded import EmbeddedBus
from shared.config import Settings
from shared.consumer import Delivery, Result
from shared.events import Envelope
from shared.parked import ParkedMessages

__all__ = ["AmqpBus", "BatchHandler", "Bus", "EmbeddedBus", "Handler", "PublishError", "connect_bus"]

Handler = Callable[[bytes | str, object, str | None], Result]
"""`handler(body, retries, sender) -> Result`: handles one delivery (the consumer's `process`); never raises for
a message it could not handle, it says so in the result (retry after a delay, or dead). `retries` is the count
as the delivery carries it (RabbitMQ: the `x-retries` header, unchecked); the handler reads it. `sender` is the
broker user that published it (RabbitMQ: its `user_id`, which the broker checked; '' when unknown), or None
from a bus without users (the embedded one). A bus still
treats a handler that raises as having said "dead", so no message stays unsettled."""

BatchHandler = Callable[[list[Delivery]], list[Result]]
"""`batch(deliveries) -> results`, one for each delivery in its order (the consumer's `process_batch`): decides on
several deliveries at once, as `Handler` does on one; never raises (a bus that sees it raise decides on each
delivery alone with the `Handler`)."""


class Bus(Protocol):
    """What the outbox, the worker and the operations endpoints ask of a bus."""

    def declare(self, queue: str | None = None, routing_keys: Iterable[str] = ()) -> None:
        """Make sure the exchanges exist and, for `queue` (a consuming service's name), its queues, subscribed
        to `routing_keys`. Idempotent; the worker calls it before it consumes or publishes."""

    def publish(self, envelopes: list[Envelope], settled: Callable[[list[Envelope]], None] | None = None,
                unsettled: Callable[[list[Envelope], str], None] | None = None) -> list[Envelope]:
        """Hand the envelopes to the bus; returns those it holds safely already (RabbitMQ's confirm).

        A bus that settles later (the embedded one, once every subscriber has handled or durably kept a
        message) calls `settled` with the others then, or `unsettled(envelopes, reason)` if a subscriber
        could not settle one: it is the publisher's again, to send later. Raises `PublishError` if the bus
        refused them."""

    def consume(self, queue: str, routing_keys: Iterable[str], handler: Handler, stop: threading.Event,
                ready: threading.Event | None = None, *, parked: ParkedMessages, batch: BatchHandler | None = None,
                batch_size: int = 1) -> None:
        """Deliver `queue`'s messages to `handler` until `stop` is set; set `ready` once subscribed.

        A bus may hand up to `batch_size` deliveries that are waiting at once to `batch` instead (RabbitMQ does;
        the embedded bus delivers one at a time).

        A result to retry waits out its delay and comes back to this queue only, with its count of
        retries; a dead one is parked. RabbitMQ keeps both in its own queues (`<queue>.retry.*`,
        `<queue>.dead`); the embedded bus has no broker to keep them in and keeps them in `parked`,
        the consuming service's own database, before it counts the delivery as settled."""

    def ping(self) -> None:
        """Raise if the bus cannot be reached (for `/ready`)."""

    def close(self) -> None:
        """Let go of connections; the bus may be used again afterwards."""


def connect_bus(settings: Settings) -> Bus:
    """The bus the settings name: the process's one embedded bus, or RabbitMQ at `AMQP_URL`."""
    if settings.embedded:
        return EmbeddedBus.shared()
    return AmqpBus(settings)
