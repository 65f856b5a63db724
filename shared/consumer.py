"""Handling one delivered message: decode, validate, deduplicate, handle, decide what happens next."""
from __future__ import annotations

import dataclasses
import enum
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Iterator, NamedTuple, Sequence

from shared import tracing
from shared.context import Cause, caused_by, correlated
from shared.db import utcnow
from shared.events import CATALOG, Envelope, UndecodableMessage
from shared.provenance import forgery
from shared.tables import InboxRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """An event as a handler sees it: the validated `data` and the envelope around it."""

    envelope: Envelope
    data: dict[str, Any]
    # What the handler's `outside_transaction` call answered (None for a handler without one).
    prepared: Any = None

    @property
    def id(self) -> str:
        return self.envelope.id

    @property
    def type(self) -> str:
        return self.envelope.type


def outside_transaction(call: Callable[[Event, Any], Any]):
    """Mark a handler whose slow outside call (a bank's, say) must hold no lock: `call(event, runtime)`
    runs first, outside any transaction, and its answer reaches the handler as `event.prepared`; the
    handler then records it in its own short transaction. A failure of either is retried alike, and
    `call` may run again for one event (a redelivery, a retry): it must be idempotent, and see for
    itself (in a short read) whether there is anything left to do."""

    def decorate(handler):
        handler.outside = call
        return handler

    return decorate


class Outcome(enum.Enum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    type: str | None = None
    message_id: str | None = None
    error: str | None = None
    retries: int = 0
    delay: timedelta | None = None

    @property
    def settled(self) -> bool:
        return self.outcome in (Outcome.HANDLED, Outcome.DUPLICATE, Outcome.IGNORED)


class Delivery(NamedTuple):
    """One delivery as a bus hands it over: its body, its count of retries as its carrier holds it, and the
    broker user that published it (see `Consumer.process`)."""

    body: bytes | str
    retries: object = 0
    sender: str | None = None


MAX_RETRIES_HEADER = 1000


def read_retries(value: object) -> int:
    """A delivery's count of retries as a header holds it: a whole number in 0..MAX_RETRIES_HEADER (an int,
    or its decimal text); `None` or empty is 0. Raises `UndecodableMessage` for anything else."""
    if value is None or value == "" or value == b"":
        return 0
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str) and len(value) <= 8 and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES_HEADER:
        raise UndecodableMessage(f"x-retries header {str(value)[:40]!r} is not a count of retries "
                                 f"(a whole number 0..{MAX_RETRIES_HEADER})")
    return value


class Consumer:
    """Runs the service's handler for a message inside one unit of work with its inbox row."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.handlers = runtime.service.handlers
        self.delays = runtime.settings.retry_delays
        self.publishers = runtime.settings.publishers

    @property
    def routing_keys(self) -> list[str]:
        return sorted(self.handlers)

    def process(self, body: bytes | str, retries: object = 0, sender: str | None = None) -> Result:
        """Decide what happens to one delivery; never raises. `retries` is the delivery's count of retries as
        its carrier holds it (a header, say): anything but a count within bounds makes the message dead.
        `sender` is the broker user that published it as the bus vouches for it (None: a bus without users);
        an event its producer may not have sent is dead at once (shared/provenance.py)."""
        read = self._read(body, retries, sender)
        if isinstance(read, Result):
            return self._count(read)
        return self._count(self._alone(*read))

    def process_batch(self, deliveries: Sequence[Delivery]) -> list[Result]:
        """Decide on several deliveries at once, in their order; never raises. The events handled together
        share one transaction, each in a savepoint of its own: one commit (one flush to disk) for them all,
        while a failing event undoes only its own part and is retried or dead-lettered as if it had come
        alone. A handler with an outside call is always handled alone; if the shared commit fails, each
        event is handled again alone (its inbox row was rolled back with it)."""
        results: dict[int, Result] = {}
        together: list[tuple[int, Event, Callable, int]] = []
        for index, delivery in enumerate(deliveries):
            read = self._read(delivery.body, delivery.retries, delivery.sender)
            if isinstance(read, Result):
                results[index] = read
            elif getattr(read[1], "outside", None) is not None:
                results[index] = self._alone(*read)
            else:
                together.append((index, *read))
        if len(together) == 1:
            index, event, handler, count = together[0]
            results[index] = self._alone(event, handler, count)
        elif together:
            results.update(self._together(together))
        return [self._count(results[index]) for index in range(len(deliveries))]

    def _read(self, body: bytes | str, retries: object, sender: str | None) -> Result | tuple[Event, Callable, int]:
        """The delivery as an event, its handler and its count of retries; or what becomes of a delivery
        that goes no further (ignored, forged, unreadable)."""
        # Totality: a message that cannot be decoded, validated or read the headers of is dead at once,
        # with its reason, whatever the exception; an exception escaping here would leave it unsettled.
        envelope, count = None, 0
        try:
            count = read_retries(retries)
            envelope = Envelope.from_json(body)
            handler = self.handlers.get(envelope.type)
            if handler is None:
                return Result(Outcome.IGNORED, envelope.type, envelope.id)
            forged = forgery(envelope, sender, self.publishers)
            if forged is not None:
                # Forgeries: never handled, never retried; its data is not even read.
                log.error("event %s %s refused; dead-lettered: %s", envelope.type, envelope.id, forged)
                return Result(Outcome.DEAD, envelope.type, envelope.id, forged[:2000], count)
            return Event(envelope, envelope.load()), handler, count
        except Exception as error:  # noqa: BLE001 - see above
            reason = str(error) if isinstance(error, UndecodableMessage) else f"{type(error).__name__}: {error}"
            kind, message_id = (envelope.type, envelope.id) if envelope is not None else (None, None)
            log.error("message %s (%s) cannot be read; dead-lettered: %s", message_id, kind, reason[:500])
            return Result(Outcome.DEAD, kind, message_id, reason[:2000], count)

    @contextmanager
    def _processing(self, event: Event, retries: int) -> Iterator[Callable[[Result], Result]]:
        """The context one event is handled in (its correlation, cause and span); yields what records its
        result on the span."""
        envelope = event.envelope

        def record(result: Result) -> Result:
            tracing.record_outcome(span, result.outcome.value, None if result.settled else result.error)
            return result

        with correlated(envelope.correlation_id, envelope.id), \
                caused_by(Cause("event", envelope.id, envelope.type, data=envelope.data)), \
                tracing.processing(self.runtime.tracer, envelope, self.runtime.service.name, retries) as span:
            yield record

    def _alone(self, event: Event, handler, retries: int) -> Result:
        """One event in a transaction of its own."""
        with self._processing(event, retries) as record:
            envelope = event.envelope
            try:
                outside = getattr(handler, "outside", None)
                if outside is not None:
                    # Locking: its outside call runs before the transaction, holding no lock.
                    event = dataclasses.replace(event, prepared=outside(event, self.runtime))
                with self.runtime.unit_of_work(cause=envelope) as uow:
                    result = self._attempt(event, handler, uow)
            except Exception as error:  # noqa: BLE001 - any failure is retried, then parked
                return record(self._failed(envelope, error, retries))
            return record(result)

    def _together(self, items: list[tuple[int, Event, Callable, int]]) -> dict[int, Result]:
        """Several events in one transaction, a savepoint each (see `process_batch`)."""
        results: dict[int, Result] = {}
        try:
            with self.runtime.unit_of_work() as uow:
                for index, event, handler, retries in items:
                    with self._processing(event, retries) as record:
                        uow.cause = event.envelope
                        try:
                            with uow.savepoint():
                                results[index] = self._attempt(event, handler, uow)
                        except Exception as error:  # noqa: BLE001 - its own part is undone; its neighbours stand
                            results[index] = self._failed(event.envelope, error, retries)
                        # Its span ends here: should the commit fail, the event's own attempt has a span of its own.
                        record(results[index])
                    # Isolation: the next event reads what this one wrote afresh, not what the session
                    # remembers of it (a handler's Core `UPDATE` leaves the identity map behind).
                    uow.session.expire_all()
                uow.cause = None
        except Exception as error:  # noqa: BLE001 - the shared commit failed: nothing of it stands
            log.warning("a batch of %d events could not be committed (%s: %s); handling each alone",
                        len(items), type(error).__name__, error)
            return {index: self._alone(event, handler, retries) for index, event, handler, retries in items}
        return results

    def _attempt(self, event: Event, handler, uow) -> Result:
        """The event's inbox row and its handler's effect, in `uow`; raises what the handler raises."""
        envelope = event.envelope
        # One round trip decides: a copy handled (or being handled) elsewhere wins the key.
        if not self.runtime.db.insert_new(uow.session, InboxRow, event_id=envelope.id, type=envelope.type,
                                          handled_at=utcnow()):
            return Result(Outcome.DUPLICATE, envelope.type, envelope.id)
        handler(event, uow)
        return Result(Outcome.HANDLED, envelope.type, envelope.id)

    def _failed(self, envelope: Envelope, error: Exception, retries: int) -> Result:
        """What becomes of an event whose handling failed: retried after its delay, or dead once out of retries."""
        reason = f"{type(error).__name__}: {error}"[:2000]
        if not self._database_answers():
            # Outages: our own database being down is not the event's fault; it waits at the first
            # tier for as long as that lasts, without using up its retries, and never dies of it.
            log.warning("event %s %s failed while the database does not answer; retrying in %s: %s",
                        envelope.type, envelope.id, self.delays[0], reason)
            return Result(Outcome.RETRY, envelope.type, envelope.id, reason, retries, self.delays[0])
        if retries >= len(self.delays):
            log.error("event %s %s failed for good after %d retries: %s", envelope.type, envelope.id, retries, reason)
            return Result(Outcome.DEAD, envelope.type, envelope.id, reason, retries)
        log.warning("event %s %s failed (retry %d in %s): %s", envelope.type, envelope.id,
                    retries + 1, self.delays[retries], reason)
        return Result(Outcome.RETRY, envelope.type, envelope.id, reason, retries + 1, self.delays[retries])

    def _database_answers(self) -> bool:
        try:
            self.runtime.db.ping()
            return True
        except Exception:  # noqa: BLE001 - any failure to talk to it means it does not answer
            return False

    def _count(self, result: Result) -> Result:
        metrics, type_ = self.runtime.metrics, _label(result.type)
        metrics.events_consumed.labels(type_, result.outcome.value).inc()
        if result.outcome is Outcome.RETRY:
            metrics.events_failed.labels(type_).inc()
        if result.outcome is Outcome.DEAD:
            metrics.events_failed.labels(type_).inc()
            metrics.events_dead_lettered.labels(type_).inc()
        return result


_KNOWN_TYPES = frozenset(type_ for type_, _ in CATALOG)


def _label(type_: str | None) -> str:
    """The metric label for an event type: a hostile message's made-up type must not add a series each."""
    if type_ is None:
        return "undecodable"
    return type_ if type_ in _KNOWN_TYPES else "unknown"
