"""What a service declares about itself; the kit builds its app and worker from this."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import MetaData

from shared.config import ServiceSettings
from shared.suspensions import with_kit_steps


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
    # Suspended accounts: by default the kit follows the accounts' owner's events in its own table
    # (shared/suspensions.py) and adds their handlers here; the owner of the accounts gives its own
    # check instead, `(session, user_id) -> bool`, and follows nothing.
    suspended: Callable[[Any, str], bool] | None = None

    def __post_init__(self):
        if self.suspended is None:
            object.__setattr__(self, "handlers", with_kit_steps(self.handlers))
