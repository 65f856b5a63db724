"""Fixtures of the jobs stories: the service on SQLite, PostgreSQL or RabbitMQ, people, and a job to work on."""
from __future__ import annotations

import pytest

from services.jobs import SERVICE
from tests.jobs.helpers import Jobs, Person


@pytest.fixture
def jobs(make_sqlite_database, settings, harness) -> Jobs:
    """The service on SQLite with the embedded bus: the API stories."""
    return Jobs(harness(SERVICE, settings, make_sqlite_database("jobs")))


@pytest.fixture
def any_jobs(make_database, settings, harness) -> Jobs:
    """The service on each database in turn."""
    return Jobs(harness(SERVICE, settings, make_database("jobs")))


@pytest.fixture
def jobs_pg(make_pg_database, settings, harness) -> Jobs:
    """The service on PostgreSQL with the embedded bus: for races."""
    return Jobs(harness(SERVICE, settings, make_pg_database("jobs")))


@pytest.fixture
def jobs_live(make_pg_database, amqp_settings, harness) -> Jobs:
    """The service and its worker on PostgreSQL and RabbitMQ: the event stories."""
    # Teardown runs in reverse: the worker stops before its database is dropped.
    built = Jobs(harness(SERVICE, amqp_settings, make_pg_database("jobs")))
    built.harness.start_worker()
    return built


@pytest.fixture
def owner(jobs) -> Person:
    return jobs.client()


@pytest.fixture
def job(jobs, owner) -> dict:
    return jobs.post_job(owner)
