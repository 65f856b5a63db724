"""The embedded bus: every service in one process, no broker, nothing lost across a restart.

Durability: an event stays unsent in its producer's outbox until every subscribing service
has settled it (handled it, or stored its retry timer or dead letter in its own database).
After a crash the relay sends it again and the inboxes absorb the repeats.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
from datetime import datetime, timezone

from shared.consumer import Outcome, Result
from shared.db import utcnow
from shared.events import Envelope
from shared.tables import DeadLetterRow

log = logging.getLogger(__name__)

RETRY_TIMER = "bus.retry"


class EmbeddedBus:
    _shared: "EmbeddedBus | None" = None
    _shared_lock = threading.Lock()

    @classmethod
    def shared(cls) -> "EmbeddedBus":
        """One bus per process, so every service started in it sees the others' events."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def __init__(self):
        self._lock = threading.Lock()
        self._queues: dict[str, tuple[frozenset[str], queue.Queue]] = {}
        self._pending: dict[str, list] = {}

    def declare(self, service: str | None = None, routing_keys=(), connection=None) -> None:
        if service:
            with self._lock:
                old = self._queues.get(service)
                self._queues[service] = (frozenset(routing_keys), old[1] if old else queue.Queue())

    def publish(self, envelopes: list[Envelope], settled=None) -> list[Envelope]:
        settled_now = []
        with self._lock:
            for envelope in envelopes:
                targets = [q for keys, q in self._queues.values() if envelope.type in keys]
                if not targets:
                    settled_now.append(envelope)
                    continue
                self._pending[envelope.id] = [len(targets), settled, envelope]
                for target in targets:
                    target.put(envelope)
        return settled_now

    def _ack(self, envelope: Envelope) -> None:
        with self._lock:
            entry = self._pending.get(envelope.id)
            if entry is None:
                return
            entry[0] -= 1
            if entry[0] > 0:
                return
            del self._pending[envelope.id]
        if entry[1] is not None:
            entry[1]([envelope])

    def consume(self, runtime, consumer, stop: threading.Event, ready: threading.Event | None = None) -> None:
        service = runtime.service.name
        self.declare(service, consumer.routing_keys)
        inbox = self._queues[service][1]
        if ready is not None:
            ready.set()
        while not stop.is_set():
            try:
                envelope = inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                settle(runtime, envelope.to_json(), consumer.process(envelope.to_json()))
            except Exception:  # noqa: BLE001 - unsettled: the outbox sends it again after restart
                log.exception("%s: could not settle event %s; it stays unsent", service, envelope.id)
                continue
            self._ack(envelope)

    def close(self) -> None:
        pass

    def ping(self) -> None:
        pass


def settle(runtime, body: str, result: Result) -> None:
    """Keep a failed message durably: a retry timer, or a dead letter, in the service's database."""
    if result.outcome is Outcome.RETRY:
        with runtime.unit_of_work() as uow:
            uow.schedule(RETRY_TIMER, f"{result.message_id}:{result.retries}", utcnow() + result.delay,
                         {"body": body, "retries": result.retries, "error": result.error})
    elif result.outcome is Outcome.DEAD:
        with runtime.unit_of_work() as uow:
            uow.session.add(DeadLetterRow(message_id=result.message_id, type=result.type, body=body,
                                          error=result.error or "unknown", retries=result.retries,
                                          created_at=datetime.now(timezone.utc)))


def fire_retry(runtime, consumer, payload: dict) -> None:
    """A retry timer came due: handle the message again and keep whatever happens next."""
    body = payload["body"] if isinstance(payload["body"], str) else json.dumps(payload["body"])
    settle(runtime, body, consumer.process(body, int(payload.get("retries", 0))))
