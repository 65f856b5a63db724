"""Fixtures of the reviews stories: the service on SQLite, PostgreSQL or RabbitMQ."""
from __future__ import annotations

import pytest

from services.reviews import SERVICE
from services.reviews.settings import ReviewsSettings
from tests.reviews.helpers import Reviews


@pytest.fixture
def make_reviews(harness, settings, make_sqlite_database):
    """`make_reviews(**own settings)`: the reviews service on SQLite with the embedded bus."""

    def make(**own) -> Reviews:
        return Reviews(harness(SERVICE, settings, make_sqlite_database("reviews"),
                               service_settings=ReviewsSettings(**own)))

    return make


@pytest.fixture
def reviews(make_reviews) -> Reviews:
    return make_reviews()


@pytest.fixture
def reviews_pg(harness, settings, make_pg_database) -> Reviews:
    """The reviews service on PostgreSQL with the embedded bus: for races."""
    return Reviews(harness(SERVICE, settings, make_pg_database("reviews")))


@pytest.fixture
def any_reviews(harness, settings, make_database) -> Reviews:
    """The reviews service on each database backend in turn."""
    return Reviews(harness(SERVICE, settings, make_database("reviews")))


@pytest.fixture
def make_reviews_live(harness, amqp_settings, make_pg_database):
    """`make_reviews_live(**own settings)`: reviews on RabbitMQ and PostgreSQL with its worker consuming."""

    def make(**own) -> Reviews:
        reviews = Reviews(harness(SERVICE, amqp_settings, make_pg_database("reviews"),
                                  service_settings=ReviewsSettings(**own)))
        reviews.harness.start_worker()
        return reviews

    return make


@pytest.fixture
def reviews_live(make_reviews_live) -> Reviews:
    return make_reviews_live()
