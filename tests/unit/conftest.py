"""The fast tier: domain functions against an in-memory unit of work; no broker, no database server.

The settings each service's domain code reads are kept here, in one place.
"""
from __future__ import annotations

import pytest

from marketplace import registry
from services.payments.bank import SandboxBank
from services.payments.cards import SandboxCards
from shared.config import Settings
from shared.service import Service
from tests.unit.fakes import FakeRuntime, FakeUnitOfWork, InMemoryDatabases

# Each service's own settings at their defaults, as a process with none of their variables set reads them.
SETTINGS = {name: service.settings() for name, service in registry.available({}).items()}


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
