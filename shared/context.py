"""Correlation and causation ids carried through HTTP requests, handlers, events and logs."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

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
