"""jobs: postings and their search, proposals, and the first step of hiring."""
from __future__ import annotations

from pathlib import Path

from services.jobs.api import jobs, proposals
from services.jobs.handlers import HANDLERS
from services.jobs.models import Base, Job
from services.jobs.settings import JobsSettings
from shared.config import Settings
from shared.http.reads import ReadCache
from shared.service import Service

SERVICE = Service(
    name="jobs", metadata=Base.metadata, migrations=Path(__file__).parent / "migrations",
    blueprints=(jobs, proposals), handlers=HANDLERS,
    settings=JobsSettings, collaborators={"job_cache": lambda settings: ReadCache(settings.job_cache_ttl)},
    title="Job postings, their search, proposals; starts the Hiring saga.",
    on_start=lambda runtime: runtime.collaborators["job_cache"].follow(runtime.db, Job),
)


def create_app(config: Settings | None = None, **kwargs):
    from shared.http import create_app as build

    return build(SERVICE, config, **kwargs)
