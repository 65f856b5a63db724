"""The envelope every event travels in, and the catalog of event types by producer."""
from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError

from shared.db import utcnow
from shared.events import contracts, jobs, payments, reviews, users
from shared.events.fields import format_timestamp
from shared.ids import new_id

# An account suspended or reinstated: every service follows these (the kit keeps the set).
ACCOUNT_SUSPENDED = users.SUSPENDED
ACCOUNT_REINSTATED = users.REINSTATED


class UndecodableMessage(ValueError):
    """A body that is not an envelope this service can read; it goes to dead letters at once."""


CATALOG: dict[tuple[str, int], type[Schema]] = {
    (name, 1): schema
    for module in (users, jobs, contracts, payments, reviews)
    for name, schema in module.EVENTS.items()
}


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

    @classmethod
    def new(cls, type_: str, data: dict[str, Any], *, producer: str, correlation_id: str,
            causation_id: str | None = None) -> "Envelope":
        """An event whose `data` is checked against its schema before it leaves the producer."""
        schema = schema_for(type_)
        errors = schema.validate(schema.dump(data))
        if errors:
            raise ValueError(f"{type_} data does not match its schema: {errors}")
        return cls(type_, schema.dump(data), producer, correlation_id, causation_id)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, body: bytes | str) -> "Envelope":
        try:
            raw = json.loads(body)
            envelope = cls(
                type=str(raw["type"]), data=raw["data"], producer=str(raw["producer"]),
                correlation_id=str(raw.get("correlation_id") or raw["id"]), causation_id=raw.get("causation_id"),
                version=int(raw["version"]), id=str(uuid.UUID(str(raw["id"]))), occurred_at=str(raw["occurred_at"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise UndecodableMessage(f"not an event envelope: {error!r}") from None
        if not isinstance(envelope.data, dict):
            raise UndecodableMessage("envelope data is not an object")
        return envelope

    def load(self) -> dict[str, Any]:
        """`data` validated by the producer's schema; unknown fields are ignored."""
        try:
            return schema_for(self.type, self.version).load(self.data)
        except ValidationError as error:
            raise UndecodableMessage(f"{self.type} data fails its schema: {error.messages}") from None
