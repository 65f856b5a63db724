"""contracts: offers, milestones and the hiring, escrow funding, release and refund sagas; refund requests,
disputes and bonuses."""
from __future__ import annotations

from pathlib import Path

from services.contracts import records  # noqa: F401 - its tables belong to the service's metadata
from services.contracts import timeline  # noqa: F401 - keeps the history of every change of status
from services.contracts.api import contracts
from services.contracts.api_disputes import protection
from services.contracts.api_hourly import blueprint as hourly_api
from services.contracts.handlers import HANDLERS, TIMERS
from services.contracts.models import Base
from services.contracts.settings import ContractsSettings
from services.contracts.stuck import count_stuck, stuck_sagas
from shared.config import Settings
from shared.metrics import ServiceGauge
from shared.service import Service

SERVICE = Service(
    name="contracts", metadata=Base.metadata, migrations=Path(__file__).parent / "migrations",
    blueprints=(contracts, protection, hourly_api), handlers=HANDLERS, timers=TIMERS,
    settings=ContractsSettings,
    gauges=(ServiceGauge("sagas_stuck", "Saga steps past their deadline, still unanswered, by state",
                         ("state",), count_stuck),),
    stuck_sagas=stuck_sagas,
    title="Contracts and milestones; owns the hiring, escrow funding, release and refund sagas.",
)


def create_app(config: Settings | None = None, **kwargs):
    from shared.http import create_app as build

    return build(SERVICE, config, **kwargs)
