"""The embedded bus: every service in one process, no broker, nothing lost across a restart.

Durability: an event stays unsent in its producer's outbox until every subscribing service
has settled it (handled it, or kept its retry or dead letter in its own database, through the
`ParkedMessages` its worker hands to `consume`). After a crash the relay sends it again and the
inboxes absorb the repeats; a retry kept before the crash is carried out after it.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from queue import Empty, Queue
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from shared.consumer import Outcome, Result
from shared.events import Envelope

log = logging.getLogger(__name__)

IDLE_WAIT = 0.2  # seconds a consumer waits on its queue before it looks at the clock again


@dataclass
class _Pending:
    """An envelope some subscribers have not settled yet: `owed` names their queues."""

    envelope: Envelope
    owed: set[str]
    settled: Callable[[list[Envelope]], None] | None
    unsettled: Callable[[list[Envelope], str], None] | None


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
        self._pending: dict[str, _Pending] = {}

    def declare(self, queue: str | None = None, routing_keys: Iterable[str] = ()) -> None:
        if queue:
            with self._lock:
                old = self._queues.get(queue)
                self._queues[queue] = (frozenset(routing_keys), old[1] if old else Queue())

    def publish(self, envelopes: list[Envelope], settled: Callable[[list[Envelope]], None] | None = None,
                unsettled: Callable[[list[Envelope], str], None] | None = None) -> list[Envelope]:
        """`unsettled(envelopes, reason)`: a subscriber could neither handle nor keep one of them; the envelope
        is no longer this bus's to deliver, it is the publisher's to send again (the relay's sweep does)."""
        settled_now = []
        with self._lock:
            for envelope in envelopes:
                subscribed = {name for name, (keys, _) in self._queues.items() if envelope.type in keys}
                if not subscribed:
                    settled_now.append(envelope)
                    continue
                pending = self._pending.get(envelope.id)
                # Sent again (by the sweep, after a subscriber failed to settle it): only the subscribers
                # that still owe a settlement get it again; those that settled it already are not asked twice.
                owed = subscribed if pending is None else (pending.owed & subscribed) or subscribed
                self._pending[envelope.id] = _Pending(envelope, set(owed), settled, unsettled)
                for name in owed:
                    self._queues[name][1].put(envelope)
        return settled_now

    def _ack(self, queue: str, envelope: Envelope) -> None:
        with self._lock:
            entry = self._pending.get(envelope.id)
            if entry is None:
                return
            entry.owed.discard(queue)
            if entry.owed:
                return
            del self._pending[envelope.id]
        if entry.settled is not None:
            entry.settled([envelope])

    def _not_settled(self, queue: str, envelope: Envelope, reason: str) -> None:
        """`queue` could not settle the envelope: its publisher sends it again later; it stays owed by `queue`."""
        with self._lock:
            entry = self._pending.get(envelope.id)
        if entry is not None and entry.unsettled is not None:
            try:
                entry.unsettled([envelope], reason)
            except Exception:  # noqa: BLE001 - the publisher's outbox still holds it unsent: a restart sends it
                log.exception("%s: could not hand event %s back to its publisher", queue, envelope.id)

    def consume(self, queue: str, routing_keys: Iterable[str], handler, stop: threading.Event,
                ready: threading.Event | None = None, *, parked, batch=None, batch_size: int = 1) -> None:
        """Deliver `queue`'s events to `handler`, and its retries once due, until `stop` is set. One at a time:
        `batch` is unused (SQLite has one writer, and a publisher here waits for each event's settling)."""
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
            try:
                body = envelope.to_json()
                result = handler(body, 0, None)  # no broker, no users: the consumer checks ownership only
            except Exception as error:  # noqa: BLE001 - the last resort: a message nobody could decide on is dead
                log.exception("%s: could not decide on event %s; dead-lettered", queue, envelope.id)
                body = _body(envelope)
                result = Result(Outcome.DEAD, envelope.type, envelope.id,
                                f"the consumer failed on it: {type(error).__name__}: {error}"[:2000])
            if result.message_id is None:  # an envelope it could not read: still kept under the id it was sent with
                result = replace(result, message_id=envelope.id)
            try:
                parked.keep(body, result)
            except Exception as error:  # noqa: BLE001 - unsettled: the publisher's sweep sends it again
                log.exception("%s: could not settle event %s; its publisher sends it again", queue, envelope.id)
                self._not_settled(queue, envelope, f"{queue} could not settle it: {type(error).__name__}: {error}")
                continue
            self._ack(queue, envelope)

    def _retry_due(self, queue: str, handler, parked, stop: threading.Event) -> None:
        """Carry out every retry that came due; each is dropped together with keeping what comes of it."""
        try:
            while not stop.is_set() and (due := parked.next_due()) is not None:
                try:
                    result = handler(due.body, due.retries, None)
                except Exception as error:  # noqa: BLE001 - the last resort, as for a first delivery
                    log.exception("%s: could not decide on a retry; dead-lettered", queue)
                    result = Result(Outcome.DEAD, error=f"the consumer failed on it: {type(error).__name__}: {error}"[:2000])
                parked.keep(due.body, result, instead_of=due)
        except Exception:  # noqa: BLE001 - the retry stays kept and comes due again at the next look
            log.exception("%s: could not carry out a retry; it stays kept", queue)

    def close(self) -> None:
        pass


    def ping(self) -> None:
        pass


def _body(envelope: Envelope) -> str:
    try:
        return envelope.to_json()
    except Exception:  # noqa: BLE001 - kept as a dead letter all the same, with what can be written of it
        return json.dumps({"id": str(envelope.id), "type": str(envelope.type)[:200], "data": None,
                           "error": "the envelope could not be written"})
