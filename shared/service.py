"""What a service declares about itself; the kit builds its app and worker from this."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import MetaData


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
