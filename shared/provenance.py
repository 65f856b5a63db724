"""Who may send an event: the one producer that owns its type, publishing as that producer's broker user.

The catalog (`shared.events.OWNERS`) names each type's owner. On RabbitMQ every publisher sets the AMQP
`user_id` property to the user it connected as, and the broker refuses a publish whose `user_id` is any
other; so `user_id` is the broker's word for who published a message. A consumer refuses (dead-letters at
once, as forged) an event whose type its `producer` does not own, or that was published by a broker user
other than the one that producer publishes as (`AMQP_PUBLISHERS`).

A retry or a dead letter is a copy the consumer publishes itself, as its own user: it records the user
that published the original in `x-published-by`, and that header is believed only on a message published
by the consumer's own user or by one of `AMQP_REPLAYERS` (the operator's `marketplace dlq replay`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from shared.events import OWNERS, Envelope

PUBLISHED_BY = "x-published-by"
EVERY_PRODUCER = "*"


class InvalidMapping(ValueError):
    """A producer-to-user mapping that cannot be read; the message says where it goes wrong."""


@dataclass(frozen=True)
class Publishers:
    """The broker user each producer publishes as: `by_producer`, else `fallback`, else the producer's name."""

    by_producer: Mapping[str, str] = field(default_factory=dict)
    fallback: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> "Publishers":
        """`payments=payments-prod,contracts=contracts-prod`, with `*=user` for every producer not named;
        empty or None: each producer publishes as the user of its own name."""
        found: dict[str, str] = {}
        for part in (text or "").split(","):
            if not part.strip():
                continue
            producer, equals, user = (piece.strip() for piece in part.partition("="))
            if not equals or not producer or not user:
                raise InvalidMapping(f"{part.strip()!r} is not producer=user (or *=user)")
            if producer in found:
                raise InvalidMapping(f"{producer!r} is given twice")
            found[producer] = user
        fallback = found.pop(EVERY_PRODUCER, None)
        return cls(found, fallback)

    @classmethod
    def everyone(cls, user: str) -> "Publishers":
        """A single-user broker (development, tests): every producer publishes as `user`."""
        return cls({}, user)

    def of(self, producer: str) -> str:
        return self.by_producer.get(producer) or self.fallback or producer


def published_by(user_id: str | None, headers: Mapping[str, object], own_user: str,
                 replayers: frozenset[str] = frozenset()) -> str:
    """The broker user that published the event a delivery carries ('' when it is unknown).

    `user_id` is the delivery's, checked by the broker; on a copy made by this consumer's own user (a
    retry, a dead letter replayed) or by one of `replayers`, the original publisher is the one it recorded."""
    user = user_id or ""
    recorded = headers.get(PUBLISHED_BY)
    if user and (user == own_user or user in replayers) and isinstance(recorded, (str, bytes)):
        return recorded.decode("utf-8", "replace") if isinstance(recorded, bytes) else recorded
    return user


def forgery(envelope: Envelope, sender: str | None, publishers: Publishers) -> str | None:
    """Why `envelope` cannot have come from its producer, or None when it may have.

    `sender`: the broker user that published it, as the bus vouches for it ('' when unknown); None for
    a bus that has no users (the embedded one), where only the ownership of its type is checked."""
    owner = OWNERS.get(envelope.type)
    if owner is None:
        return f"forged: no producer owns the event type {envelope.type[:200]!r}"
    if envelope.producer != owner:
        return (f"forged: {envelope.type} is {owner}'s event, but its producer says "
                f"{envelope.producer[:200]!r}")
    if sender is None:
        return None
    expected = publishers.of(owner)
    if sender != expected:
        published = f"broker user {sender[:200]!r}" if sender else "a publisher that set no user_id"
        return f"forged: {envelope.type} from {owner} was published by {published}, not by {expected!r}"
    return None
