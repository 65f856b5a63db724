"""Fixtures of the messages stories: the service on SQLite, PostgreSQL or RabbitMQ."""
from __future__ import annotations

import pytest

from services.messages import SERVICE
from services.messages.settings import MessagesSettings
from tests.messages.helpers import Messages

LOCAL = {"webhook_allow_private": True}  # the stories' receivers listen on loopback


@pytest.fixture
def make_messages(harness, settings, make_sqlite_database):
    """`make_messages(**own settings)`: the messages service on SQLite with the embedded bus."""

    def make(**own) -> Messages:
        return Messages(harness(SERVICE, settings, make_sqlite_database("messages"),
                                service_settings=MessagesSettings(**{**LOCAL, **own})))

    return make


@pytest.fixture
def messages(make_messages) -> Messages:
    return make_messages()


@pytest.fixture
def make_messages_pg(harness, settings, make_pg_database):
    """`make_messages_pg(**own settings)`: on PostgreSQL with the embedded bus: races, other processes."""

    def make(**own) -> Messages:
        return Messages(harness(SERVICE, settings, make_pg_database("messages"),
                                service_settings=MessagesSettings(**{**LOCAL, **own})))

    return make


@pytest.fixture
def messages_pg(make_messages_pg) -> Messages:
    return make_messages_pg()


@pytest.fixture
def any_messages(harness, settings, make_database) -> Messages:
    """The messages service on each database backend in turn."""
    return Messages(harness(SERVICE, settings, make_database("messages"), service_settings=MessagesSettings(**LOCAL)))


@pytest.fixture
def make_messages_live(harness, amqp_settings, make_pg_database):
    """`make_messages_live(**own settings)`: messages on RabbitMQ and PostgreSQL with its worker consuming."""

    def make(**own) -> Messages:
        messages = Messages(harness(SERVICE, amqp_settings, make_pg_database("messages"),
                                    service_settings=MessagesSettings(**{**LOCAL, **own})))
        messages.harness.start_worker()
        return messages

    return make


@pytest.fixture
def messages_live(make_messages_live) -> Messages:
    return make_messages_live()
