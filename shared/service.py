"""What a service declares about itself; the kit builds its app and worker from this."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import MetaData

from shared.config import ServiceSettings


@dataclass(frozen=True)
class Service:
    name: str
    metadata: MetaData
    migrations: Path
    blueprints: Sequence[Any] = ()
    handlers: Mapping[str, Callable] = field(default_factory=dict)
    timers: Mapping[str, Callable] = field(default_factory=dict)
    on_start: Callable[[Any], None] | None = None
    title: str = ""
    background: Sequence[Callable[[Any], Callable[[], None]]] = ()
    # Its own settings: the class, built by the runtime once at start (`uow.settings` in its code).
    settings: type[ServiceSettings] = ServiceSettings
    # What it talks to outside the marketplace (a bank, a card processor), by name: each a factory
    # taking the service's settings; `Runtime(..., collaborators={name: instance})` overrides one.
    collaborators: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    # Its own tables' pruning: given its settings, the `shared.prune.Retention` rules its worker runs with
    # the kit's (sent outbox rows, inbox rows, expired idempotency keys), every PRUNE_EVERY.
    retention: Callable[[Any], Sequence[Any]] | None = None
