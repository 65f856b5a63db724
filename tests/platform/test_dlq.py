"""Dead letters for operators: a parked message is listed, replayed after a fix, and handled."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pika
import pytest

from shared.db import KitBase
from shared.dlq import AmqpDeadLetters, EmbeddedDeadLetters, pika_parameters
from shared.ids import new_id
from shared.service import Service
from tests.support import Harness, eventually

pytestmark = pytest.mark.amqp


class Flaky:
    """A handler that fails until it is 'fixed', then records what it handled."""

    def __init__(self):
        self.fixed = False
        self.handled: list[str] = []

    def __call__(self, event, uow):
        if not self.fixed:
            raise RuntimeError("bug in the handler")
        self.handled.append(event.data["user_id"])


def toy_service(handler) -> Service:
    return Service(name=f"dlq{uuid.uuid4().hex[:8]}", metadata=KitBase.metadata,
                   migrations=Path(__file__).parent / "no_migrations", handlers={"users.user.registered": handler},
                   producer="users")


def registered(user_id: str) -> dict:
    return {"user_id": user_id, "email": "x@example.com", "name": "X", "roles": ["client"]}


@pytest.fixture
def broker(amqp_url):
    connection = pika.BlockingConnection(pika_parameters(amqp_url))
    declared: list[str] = []
    yield connection.channel(), declared
    channel = connection.channel()
    for queue in declared:
        channel.queue_delete(queue)
    connection.close()


class TestReplayOverAmqp:
    def test_a_parked_message_is_listed_replayed_and_then_handled(self, amqp_settings, make_pg_database, broker):
        channel, declared = broker
        handler = Flaky()
        service = toy_service(handler)
        declared += [f"{service.name}.events", f"{service.name}.dead"] + [
            f"{service.name}.retry.{d.total_seconds():g}s" for d in amqp_settings.retry_delays]
        harness = Harness(service, amqp_settings, make_pg_database("dlq"))
        try:
            harness.start_worker()
            user_id = new_id()
            event = harness.publish("users.user.registered", registered(user_id))
            letters = AmqpDeadLetters(amqp_settings, service.name)
            parked = eventually(lambda: letters.list(), timeout=20)
            assert [letter.message_id for letter in parked] == [event.id]
            assert "bug in the handler" in parked[0].error
            assert parked[0].retries == len(amqp_settings.retry_delays)

            handler.fixed = True
            assert letters.replay({event.id}) == 1
            eventually(lambda: handler.handled == [user_id], timeout=10)
            assert letters.list() == []
        finally:
            harness.stop()

    def test_purge_empties_the_parking_queue(self, amqp_settings, broker):
        channel, declared = broker
        name = f"dlq{uuid.uuid4().hex[:8]}"
        declared.append(f"{name}.dead")
        channel.queue_declare(f"{name}.dead", durable=True)
        channel.basic_publish("", f"{name}.dead", json.dumps({"not": "an envelope"}).encode())
        letters = AmqpDeadLetters(amqp_settings, name)
        eventually(lambda: len(letters.list()) == 1)
        assert letters.purge() == 1
        assert letters.list() == []

    def test_a_letter_with_a_header_nobody_could_read_is_still_listed(self, amqp_settings, broker):
        """The parking queue is where unreadable messages end up: listing it must not fail on one."""
        channel, declared = broker
        name = f"dlq{uuid.uuid4().hex[:8]}"
        declared.append(f"{name}.dead")
        channel.queue_declare(f"{name}.dead", durable=True)
        headers = {"x-retries": "9" * 30, "x-error": "x-retries header is not a count of retries"}
        channel.basic_publish("", f"{name}.dead", b"{}", pika.BasicProperties(message_id="m1", headers=headers))
        letters = AmqpDeadLetters(amqp_settings, name)
        (letter,) = eventually(lambda: letters.list())
        assert (letter.message_id, letter.retries, letter.headers["x-retries"]) == ("m1", None, "9" * 30)


class TestReplayEmbedded:
    def test_replay_hands_the_message_back_as_a_retry_due_now(self, settings, make_sqlite_database):
        handler = Flaky()
        service = toy_service(handler)
        database = make_sqlite_database("dlq")
        harness = Harness(service, settings, database)
        try:
            harness.start_worker()
            user_id = new_id()
            with harness.runtime.unit_of_work() as uow:
                uow.emit("users.user.registered", registered(user_id))
            letters = EmbeddedDeadLetters(database)
            eventually(lambda: letters.list(), timeout=20)
            handler.fixed = True
            assert letters.replay(None) == 1
            eventually(lambda: handler.handled == [user_id], timeout=10)
            assert letters.list() == []
        finally:
            harness.stop()
