"""Correlation and causation ids carried through HTTP requests, handlers, events and logs."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Mapping

from shared.ids import new_id

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)


def current_correlation_id() -> str:
    return correlation_id.get() or new_id()


@contextmanager
def correlated(correlation: str | None, causation: str | None = None) -> Iterator[None]:
    tokens = (correlation_id.set(correlation), causation_id.set(causation))
    try:
        yield
    finally:
        correlation_id.reset(tokens[0])
        causation_id.reset(tokens[1])


@dataclass(frozen=True)
class Cause:
    """What this context is doing, for records of who changed what: serving a request (`id` the
    request's id, `user_id` its caller once the token is read), handling an event (`id` the event's,
    `name` its type, `data` its data as sent) or firing a durable timer (`id` the timer's, `name` its kind)."""
    kind: str  # "request", "event" or "timer"
    id: str
    name: str | None = None
    user_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


current_cause: ContextVar[Cause | None] = ContextVar("current_cause", default=None)


@contextmanager
def caused_by(cause: Cause) -> Iterator[None]:
    token = current_cause.set(cause)
    try:
        yield
    finally:
        current_cause.reset(token)


def identify(user_id: str) -> None:
    """The request being served is this user's (its cause was set when it began, and is reset when it ends)."""
    cause = current_cause.get()
    if cause is not None and cause.kind == "request":
        current_cause.set(replace(cause, user_id=user_id))
