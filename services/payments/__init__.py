"""payments: the ledger, deposits, milestone escrow (released, refunded or split), bonuses, payouts."""
from __future__ import annotations

from pathlib import Path

from services.payments import bonuses  # noqa: F401 - its table belongs to the service's metadata
from services.payments.api import payments
from services.payments.ledger import check_failures
from services.payments.bank import sandbox_bank
from services.payments.cards import sandbox_cards
from services.payments.handlers import HANDLERS, TIMERS
from services.payments.models import Base
from services.payments.settings import PaymentsSettings
from shared.config import Settings
from shared.metrics import ServiceGauge
from shared.service import Service

SERVICE = Service(
    name="payments", metadata=Base.metadata, migrations=Path(__file__).parent / "migrations",
    blueprints=(payments,), handlers=HANDLERS, timers=TIMERS,
    settings=PaymentsSettings, collaborators={"bank": sandbox_bank, "cards": sandbox_cards},
    gauges=(ServiceGauge("ledger_check_failures", "What the ledger check finds wrong with the books, by check",
                         ("check",), check_failures, every=lambda settings: settings.ledger_check_every),),
    title="The ledger: deposits, milestone escrow, releases, refunds and payouts, in integer cents.",
)


def create_app(config: Settings | None = None, **kwargs):
    from shared.http import create_app as build

    return build(SERVICE, config, **kwargs)
