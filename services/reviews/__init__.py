"""reviews: double-blind reviews of ended contracts, and users' rating summaries."""
from __future__ import annotations

from pathlib import Path

from services.reviews.api import reviews
from services.reviews.handlers import HANDLERS, TIMERS
from services.reviews.models import Base
from services.reviews.settings import ReviewsSettings
from shared.config import Settings
from shared.service import Service

SERVICE = Service(
    name="reviews", metadata=Base.metadata, migrations=Path(__file__).parent / "migrations",
    blueprints=(reviews,), handlers=HANDLERS, timers=TIMERS,
    settings=ReviewsSettings,
    title="Double-blind reviews of ended contracts, opened by contracts' end events; rating summaries.",
)


def create_app(config: Settings | None = None, **kwargs):
    from shared.http import create_app as build

    return build(SERVICE, config, **kwargs)
