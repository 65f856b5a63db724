"""What the users stories share besides fixtures: request bodies, the outbox, a wire observer."""
from __future__ import annotations

import json
import threading
import uuid
from typing import Any, Callable

import pika
from kombu import Connection
import sqlalchemy as sa

from shared.events import Envelope
from shared.tables import OutboxRow
from tests.support import eventually

PASSWORD = "correct horse battery"


def new_account(**overrides) -> dict:
    """A registration body with a unique email; any field can be overridden."""
    return {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "name": "Ada Lovelace",
            "roles": ["client"], **overrides}


def at_once(count: int, action: Callable[[int], Any]) -> list:
    """`action(0)` … `action(count - 1)` in threads released together: their results, or what they raised."""
    start, results = threading.Barrier(count), []

    def run(number: int) -> None:
        start.wait()
        try:
            results.append(action(number))
        except Exception as error:  # noqa: BLE001 - handed to the story to judge
            results.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def outbox(service, type_: str) -> list[Envelope]:
    """The events of `type_` the service wrote to its outbox, oldest first."""
    with service.runtime.db.transaction() as session:
        rows = session.scalars(sa.select(OutboxRow).where(OutboxRow.type == type_).order_by(OutboxRow.created_at))
        return [Envelope.from_json(row.body) for row in rows]


def pika_parameters(amqp_url: str) -> pika.ConnectionParameters:
    """The broker of a kombu-style URL (`amqp://guest:guest@host:5672//` means vhost `/`) for pika."""
    url = Connection(amqp_url)
    return pika.ConnectionParameters(host=url.hostname, port=url.port or 5672, virtual_host=url.virtual_host or "/",
                                     credentials=pika.PlainCredentials(url.userid, url.password))


class WireObserver:
    """An independent pika client: its own temporary queue on the events exchange, bound per routing key."""

    def __init__(self, amqp_url: str, exchange: str):
        self.connection = pika.BlockingConnection(pika_parameters(amqp_url))
        self.channel = self.connection.channel()
        self.exchange = exchange
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.seen: list[tuple[dict, pika.BasicProperties]] = []

    def bind(self, routing_key: str) -> None:
        self.channel.queue_bind(self.queue, self.exchange, routing_key=routing_key)

    def wait_for(self, type_: str, timeout: float = 10, **data) -> tuple[dict, pika.BasicProperties]:
        """The first message of `type_` whose `data` holds these values, as (envelope, properties)."""

        def arrived():
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is not None:
                self.seen.append((json.loads(body), properties))
            return next((seen for seen in self.seen if seen[0]["type"] == type_
                         and all(seen[0]["data"].get(k) == v for k, v in data.items())), None)

        return eventually(arrived, timeout, message=f"no {type_} {data} on {self.exchange}")

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()
