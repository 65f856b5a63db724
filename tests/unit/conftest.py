"""The fast tier: domain functions against an in-memory unit of work; no broker, no database server.

The settings each service's domain code reads are kept here, in one place.
"""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.payments.bank import SandboxBank
from services.payments.cards import SandboxCards
from shared.config import Settings
from shared.service import Service
from tests.unit.fakes import FakeRuntime, FakeUnitOfWork, InMemoryDatabases

SETTINGS = {
    "users": SimpleNamespace(admin_email=None, admin_password=None),
    "jobs": SimpleNamespace(),
    "contracts": SimpleNamespace(client_fee_bps=500, freelancer_fee_bps=1000, offer_ttl=timedelta(days=7),
                                 auto_approve_after=timedelta(days=14)),
    "payments": SimpleNamespace(payout_hold=timedelta(days=5)),
    "reviews": SimpleNamespace(review_window=timedelta(days=14)),
}


def collaborators() -> dict:
    return {"bank": SandboxBank(delay=(0, 0)), "cards": SandboxCards()}


@pytest.fixture(scope="session")
def databases():
    made = InMemoryDatabases()
    yield made
    made.close()


@pytest.fixture
def make_uow(databases):
    """`make_uow(SERVICE, ddl=())`: a fresh in-memory database with the service's tables, and its unit of work."""
    sessions = []

    def make(service: Service, ddl=()) -> FakeUnitOfWork:
        database = databases.fresh(service.metadata, ddl)
        sessions.append(database.sessions())
        runtime = FakeRuntime(service, database, settings=Settings(), collaborators=collaborators())
        return FakeUnitOfWork(runtime, sessions[-1], SETTINGS[service.name])

    yield make
    for session in sessions:
        session.close()
