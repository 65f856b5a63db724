"""The envelope every event travels in, and the catalog of event types by producer."""
from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from marshmallow import Schema, ValidationError

from shared.db import utcnow
from shared.events import contracts, jobs, messages, payments, reviews, users
from shared.events.fields import Timestamp, format_timestamp
from shared.ids import new_id

# An account suspended or reinstated: every service follows these (the kit keeps the set).
ACCOUNT_SUSPENDED = users.SUSPENDED
ACCOUNT_REINSTATED = users.REINSTATED


class UndecodableMessage(ValueError):
    """A body that is not an envelope this service can read; it goes to dead letters at once."""


_PRODUCERS = (users, jobs, contracts, payments, reviews, messages)

CATALOG: dict[tuple[str, int], type[Schema]] = {
    (name, 1): schema
    for module in _PRODUCERS
    for name, schema in module.EVENTS.items()
}

# The one producer that may send each event type: the module that declares its schema.
OWNERS: dict[str, str] = {name: module.__name__.rsplit(".", 1)[-1] for module in _PRODUCERS for name in module.EVENTS}


def schema_for(type_: str, version: int = 1) -> Schema:
    try:
        return CATALOG[(type_, version)]()
    except KeyError:
        raise UndecodableMessage(f"unknown event type {type_!r} version {version}") from None


@dataclass(frozen=True)
class Envelope:
    type: str
    data: dict[str, Any]
    producer: str
    correlation_id: str
    causation_id: str | None = None
    version: int = 1
    id: str = field(default_factory=new_id)
    occurred_at: str = field(default_factory=lambda: format_timestamp(utcnow()))
    # The W3C trace context of the span that emitted it (shared/tracing.py); None when traces are off.
    traceparent: str | None = None
    tracestate: str | None = None

    @classmethod
    def new(cls, type_: str, data: dict[str, Any], *, producer: str, correlation_id: str,
            causation_id: str | None = None, trace: Mapping[str, str] | None = None) -> "Envelope":
        """An event whose `data` is checked against its schema before it leaves the producer; `trace` is the
        W3C context it carries (`traceparent`, `tracestate`)."""
        schema = schema_for(type_)
        dumped = schema.dump(data)
        errors = schema.validate(dumped)
        if errors:
            raise ValueError(f"{type_} data does not match its schema: {errors}")
        trace = trace or {}
        return cls(type_, dumped, producer, correlation_id, causation_id,
                   traceparent=trace.get("traceparent"), tracestate=trace.get("tracestate"))

    def to_json(self) -> str:
        body = asdict(self)
        for name in ("traceparent", "tracestate"):  # absent rather than null: most events are untraced
            if body[name] is None:
                del body[name]
        return json.dumps(body, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, body: bytes | str) -> "Envelope":
        """The envelope in `body`; raises `UndecodableMessage`, and nothing else, for any body it cannot read."""
        # Totality: whatever a hostile body makes the parser raise (a RecursionError from deep nesting,
        # an OverflowError from a timestamp, a MemoryError...) means it cannot be read, never a crash of
        # the consumer that would leave the message unacked and redelivered first forever.
        try:
            raw = json.loads(body)
            envelope = cls(
                type=str(raw["type"]), data=raw["data"], producer=str(raw["producer"]),
                correlation_id=str(raw.get("correlation_id") or raw["id"]), causation_id=raw.get("causation_id"),
                version=_version(raw["version"]), id=str(uuid.UUID(str(raw["id"]))), occurred_at=str(raw["occurred_at"]),
                traceparent=_trace_field(raw.get("traceparent")), tracestate=_trace_field(raw.get("tracestate")),
            )
            _OCCURRED_AT.deserialize(envelope.occurred_at)
        except ValidationError as error:
            raise UndecodableMessage(f"not an event envelope: occurred_at: {' '.join(error.messages)}") from None
        except Exception as error:  # noqa: BLE001 - see above
            raise UndecodableMessage(f"not an event envelope: {_describe(error)}") from None
        if not isinstance(envelope.data, dict):
            raise UndecodableMessage("envelope data is not an object")
        return envelope

    def load(self) -> dict[str, Any]:
        """`data` validated by the producer's schema; unknown fields are ignored. Raises `UndecodableMessage`,
        and nothing else, for data it cannot read (a timestamp out of range, nesting too deep...)."""
        schema = schema_for(self.type, self.version)
        try:
            return schema.load(self.data)
        except ValidationError as error:
            raise UndecodableMessage(f"{self.type} data fails its schema: {error.messages}") from None
        except Exception as error:  # noqa: BLE001 - see `from_json`
            raise UndecodableMessage(f"{self.type} data cannot be read: {_describe(error)}") from None


_OCCURRED_AT = Timestamp()
# W3C allows 55 characters for a traceparent and 512 for a tracestate; anything else is not one.
_TRACE_FIELD_MAX = 512


def _trace_field(value: object) -> str | None:
    """A trace field as a sender wrote it, kept only if it can be one: a trace never makes a message dead."""
    if isinstance(value, str) and 0 < len(value) <= _TRACE_FIELD_MAX and value.isascii() and value.isprintable():
        return value
    return None


def _version(value: object) -> int:
    """A JSON whole number; not a string, a float or a boolean that `int` would also take."""
    if type(value) is not int:
        raise TypeError(f"version {str(value)[:40]!r} is not a whole number")
    return value


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]
