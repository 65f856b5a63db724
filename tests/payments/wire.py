"""An independent listener on RabbitMQ: what payments really put on the wire, seen with pika."""
from __future__ import annotations

import json
import threading

from urllib.parse import quote, unquote, urlsplit

import pika

from tests.support import eventually


def pika_parameters(url: str) -> pika.URLParameters:
    """pika reads the vhost kombu writes as `//` as an empty name; spell `/` the way pika expects."""
    parts = urlsplit(url)
    vhost = unquote(parts.path[1:]) if parts.path not in ("", "/") else "/"
    return pika.URLParameters(parts._replace(path="/" + quote(vhost, safe="")).geturl())


class Wire:
    """Binds its own exclusive queue to `marketplace.events` and keeps every message that matches."""

    def __init__(self, url: str, binding: str = "payments.#", exchange: str = "marketplace.events"):
        self.url, self.binding, self.exchange = url, binding, exchange
        self.messages: list[dict] = []
        self._ready, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._listen, name="wire", daemon=True)

    def __enter__(self) -> "Wire":
        self._thread.start()
        assert self._ready.wait(10), "the wire listener did not connect"
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join(5)

    def _listen(self) -> None:
        connection = pika.BlockingConnection(pika_parameters(self.url))
        channel = connection.channel()
        channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(queue, self.exchange, routing_key=self.binding)
        channel.basic_consume(queue, self._keep, auto_ack=True)
        self._ready.set()
        try:
            while not self._stop.is_set():
                connection.process_data_events(time_limit=0.1)
        finally:
            connection.close()

    def _keep(self, _channel, method, properties, body) -> None:
        self.messages.append({"routing_key": method.routing_key, "properties": properties,
                              "envelope": json.loads(body)})

    def seen(self, type_: str, **data) -> list[dict]:
        """Envelopes of `type_` whose data has these values."""
        return [m["envelope"] for m in list(self.messages) if m["routing_key"] == type_
                and all(m["envelope"]["data"].get(k) == v for k, v in data.items())]

    def wait_for(self, type_: str, timeout: float = 15, **data) -> dict:
        return eventually(lambda: self.seen(type_, **data), timeout, message=f"{type_} {data} never on the wire")[0]

    def message(self, envelope_id: str) -> dict:
        return next(m for m in self.messages if m["envelope"]["id"] == envelope_id)
