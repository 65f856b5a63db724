"""What a service declares about itself; the kit builds its app and worker from this."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import MetaData

from shared.config import ServiceSettings
from shared.metrics import ServiceGauge
from shared.suspensions import with_kit_steps


@dataclass(frozen=True)
class StuckSaga:
    """A saga step past its deadline, as `marketplace sagas stuck` shows it."""
    kind: str  # the aggregate: milestone, contract, ...
    id: str
    state: str
    since: datetime  # when the step began
    attempts: int  # how many times its request was sent again
    next_attempt_at: datetime | None
    why: str
    last_error: str | None = None


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
    # Gauges of its own on its /metrics, refreshed with the kit's (e.g. sagas past their deadline).
    gauges: Sequence[ServiceGauge] = ()
    # The saga steps past their deadline, `stuck_sagas(session, own settings)`: `marketplace sagas stuck`.
    stuck_sagas: Callable[[Any, ServiceSettings], list[StuckSaga]] | None = None
    # Suspended accounts: by default the kit follows the accounts' owner's events in its own table
    # (shared/suspensions.py) and adds their handlers here; the owner of the accounts gives its own
    # check instead, `(session, user_id) -> bool`, and follows nothing.
    suspended: Callable[[Any, str], bool] | None = None
    # The producer its events name, the owner of their types in the catalog: its name unless given (a copy
    # of it under another name, as tests run one, still speaks as the same producer).
    producer: str = ""

    def __post_init__(self):
        if not self.producer:
            object.__setattr__(self, "producer", self.name)
        if self.suspended is None:
            object.__setattr__(self, "handlers", with_kit_steps(self.handlers))
