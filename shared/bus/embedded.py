"""The embedded bus: every service in one process, no broker, nothing lost across a restart.

Durability: an event stays unsent in its producer's outbox until every subscribing service
has settled it (handled it, or kept its retry or dead letter in its own database, through the
`ParkedMessages` its worker hands to `consume`). After a crash the relay sends it again and the
inboxes absorb the repeats; a retry kept before the crash is carried out after it.
"""
from __future__ import annotations

import logging
import threading
import time
from queue import Empty, Queue
from typing import Callable, Iterable

from shared.events import Envelope

log = logging.getLogger(__name__)

IDLE_WAIT = 0.2  # seconds a consumer waits on its queue before it looks at the clock again


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
        self._queues: dict[str, tuple[frozenset[str], Queue]] = {}
        self._pending: dict[str, list] = {}

    def declare(self, queue: str | None = None, routing_keys: Iterable[str] = ()) -> None:
        if queue:
            with self._lock:
                old = self._queues.get(queue)
                self._queues[queue] = (frozenset(routing_keys), old[1] if old else Queue())

    def publish(self, envelopes: list[Envelope], settled: Callable[[list[Envelope]], None] | None = None
                ) -> list[Envelope]:
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

    def consume(self, queue: str, routing_keys: Iterable[str], handler, stop: threading.Event,
                ready: threading.Event | None = None, *, parked) -> None:
        """Deliver `queue`'s events to `handler`, and its retries once due, until `stop` is set."""
        self.declare(queue, routing_keys)
        inbox = self._queues[queue][1]
        if ready is not None:
            ready.set()
        poll, next_poll = parked.poll.total_seconds(), 0.0
        while not stop.is_set():
            if time.monotonic() >= next_poll:
                self._retry_due(queue, handler, parked, stop)
                next_poll = time.monotonic() + poll
            try:
                envelope = inbox.get(timeout=min(IDLE_WAIT, max(next_poll - time.monotonic(), 0.01)))
            except Empty:
                continue
            body = envelope.to_json()
            try:
                parked.keep(body, handler(body, 0))
            except Exception:  # noqa: BLE001 - unsettled: the outbox sends it again after restart
                log.exception("%s: could not settle event %s; it stays unsent", queue, envelope.id)
                continue
            self._ack(envelope)

    def _retry_due(self, queue: str, handler, parked, stop: threading.Event) -> None:
        """Carry out every retry that came due; each is dropped together with keeping what comes of it."""
        try:
            while not stop.is_set() and (due := parked.next_due()) is not None:
                parked.keep(due.body, handler(due.body, due.retries), instead_of=due)
        except Exception:  # noqa: BLE001 - the retry stays kept and comes due again at the next look
            log.exception("%s: could not carry out a retry; it stays kept", queue)

    def close(self) -> None:
        pass

    def ping(self) -> None:
        pass
