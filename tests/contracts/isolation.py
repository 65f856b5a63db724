"""A bus of the test's own on the shared RabbitMQ: its exchange, its queues, deleted afterwards.

Isolation: other suites (and a running stack) share the broker; a service name and an exchange
of the test's own keep their consumers and ours from taking each other's messages.
"""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager

from shared.bus import topology
from shared.bus.amqp import AmqpBus
from shared.config import Settings
from shared.service import Service
from tests.infra import unique


class PrivateBus:
    def __init__(self, settings: Settings):
        self.settings = settings.replace(exchange=unique("test.events"))
        self.made: dict[str, Settings] = {}

    def service(self, base: Service, settings: Settings | None = None) -> Service:
        """`base` under a name of its own, so its queues (for `settings`' retry delays) are this test's alone."""
        name = unique(base.name)
        self.made[name] = settings or self.settings
        return dataclasses.replace(base, name=name)

    def delete(self) -> None:
        with AmqpBus(self.settings).connection() as connection:
            channel = connection.default_channel
            for name, settings in self.made.items():
                queues = [topology.events_queue_name(name), topology.dead_queue_name(name)]
                queues += [topology.retry_queue_name(name, delay) for delay in settings.retry_delays]
                for queue in queues:
                    channel.queue_delete(queue)
            channel.exchange_delete(self.settings.exchange)


@contextmanager
def private_bus(settings: Settings):
    bus = PrivateBus(settings)
    try:
        yield bus
    finally:
        bus.delete()
