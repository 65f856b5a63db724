"""An independent view of the bus (pika, straight to RabbitMQ): every event the suite published, and a duplicator."""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import pika

EXCHANGE = "marketplace.events"
COPY_HEADER = "x-fault-copy"


class BusObserver:
    """Listens to `#` on the suite's exchange from its own queue; with `duplicate`, publishes every event twice."""

    def __init__(self, amqp_url: str, *, duplicate: bool = False):
        self.url = amqp_url  # the vhost is a plain name, so pika reads the URL as it is
        self.duplicate = duplicate
        self.events: dict[str, dict] = {}  # by message id: the first copy seen
        self.deliveries: dict[str, int] = defaultdict(int)  # copies seen per message id
        self.duplicated = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="bus-observer", daemon=True)

    def start(self) -> BusObserver:
        self._thread.start()
        assert self._ready.wait(30), f"the bus observer could not start: {self._error!r}"
        return self

    def _run(self) -> None:
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.url))
            channel = connection.channel()
            queue = channel.queue_declare("faults.observer", durable=True).method.queue
            channel.queue_bind(queue, EXCHANGE, "#")
            channel.basic_qos(prefetch_count=200)
            self._ready.set()
            while not self._stop.is_set():
                for method, properties, body in channel.consume(queue, inactivity_timeout=0.2):
                    if method is None:
                        break
                    self._seen(channel, properties, body)
                    channel.basic_ack(method.delivery_tag)
            channel.cancel()
            connection.close()
        except BaseException as error:  # noqa: BLE001 - reported by `check`
            self._error = error
            self._ready.set()

    def _seen(self, channel, properties, body: bytes) -> None:
        message_id = properties.message_id
        copy = bool((properties.headers or {}).get(COPY_HEADER))
        with self._lock:
            self.deliveries[message_id] += 1
            if message_id not in self.events:
                envelope = json.loads(body)
                self.events[message_id] = {"type": envelope["type"], "data": envelope["data"], "seen_at": time.time(),
                                           "correlation_id": envelope.get("correlation_id")}
        if self.duplicate and not copy:
            # The same message again: same body, same message id, as a broker redelivery or a relay
            # that published twice would produce.
            headers = {**(properties.headers or {}), COPY_HEADER: 1}
            channel.basic_publish(EXCHANGE, properties.type or json.loads(body)["type"], body, pika.BasicProperties(
                content_type=properties.content_type, content_encoding=properties.content_encoding,
                message_id=message_id, type=properties.type, correlation_id=properties.correlation_id,
                user_id=properties.user_id, delivery_mode=2, headers=headers))
            with self._lock:
                self.duplicated += 1

    def check(self) -> None:
        assert self._error is None and self._thread.is_alive(), f"the bus observer died: {self._error!r}"

    def of_type(self, type_: str) -> list[dict]:
        with self._lock:
            return [event for event in self.events.values() if event["type"] == type_]

    def count(self, type_: str, **match) -> int:
        """Distinct events (by id) of `type_` whose data has these values."""
        return sum(1 for event in self.of_type(type_) if all(event["data"].get(k) == v for k, v in match.items()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
