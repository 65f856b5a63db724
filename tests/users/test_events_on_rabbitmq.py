"""The users events on the wire: real RabbitMQ and PostgreSQL, observed with an independent pika client."""
from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from shared.tables import OutboxRow
from tests.support import eventually, new_id
from tests.users.helpers import new_account

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def assert_envelope(envelope: dict, properties, type_: str, correlation_id: str) -> None:
    assert envelope["type"] == type_ and properties.type == type_
    assert str(uuid.UUID(envelope["id"])) == envelope["id"] == properties.message_id
    assert envelope["version"] == 1
    assert RFC3339_UTC.match(envelope["occurred_at"])
    assert envelope["producer"] == "users"
    assert envelope["correlation_id"] == correlation_id
    assert envelope["causation_id"] and envelope["causation_id"] != envelope["id"]
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2


class TestEventsOnRabbitMQ:
    @pytest.fixture
    def users(self, users_live):
        return users_live

    def test_registration_is_published_with_the_requests_correlation_id(self, users, wire):
        wire.bind("users.user.registered")
        correlation = f"signup-{new_id()}"
        body = new_account(roles=["freelancer", "client"])
        response = users.client.post("/users", json=body, headers={"X-Correlation-ID": correlation})
        assert response.status_code == 201
        assert response.headers["X-Correlation-ID"] == correlation
        user = response.get_json()
        envelope, properties = wire.wait_for("users.user.registered", user_id=user["id"])
        assert_envelope(envelope, properties, "users.user.registered", correlation)
        assert envelope["data"] == {"user_id": user["id"], "email": body["email"], "name": body["name"],
                                    "roles": ["client", "freelancer"]}
        assert body["password"] not in str(envelope)

    def test_suspension_is_published_and_the_outbox_row_marked_sent(self, users, wire):
        wire.bind("users.user.suspended")
        user = users.client.post("/users", json=new_account()).get_json()
        correlation = f"moderation-{new_id()}"
        headers = users.headers(new_id(), ["admin"], **{"X-Correlation-ID": correlation})
        response = users.client.post(f"/users/{user['id']}/suspend", json={"reason": "Fake reviews"}, headers=headers)
        assert response.status_code == 200
        envelope, properties = wire.wait_for("users.user.suspended", user_id=user["id"])
        assert_envelope(envelope, properties, "users.user.suspended", correlation)
        assert envelope["data"] == {"user_id": user["id"], "reason": "Fake reviews"}

        def sent():
            with users.runtime.db.transaction() as session:
                return session.scalar(sa.select(OutboxRow.sent_at).where(OutboxRow.id == envelope["id"]))

        eventually(sent, message="the outbox row of the published event is never marked sent")

    def test_without_a_correlation_id_each_request_gets_its_own(self, users, wire):
        wire.bind("users.user.registered")
        first = users.client.post("/users", json=new_account())
        second = users.client.post("/users", json=new_account())
        ids = {first.headers["X-Correlation-ID"], second.headers["X-Correlation-ID"]}
        assert len(ids) == 2 and all(ids)
        for response in (first, second):
            envelope, _ = wire.wait_for("users.user.registered", user_id=response.get_json()["id"])
            assert envelope["correlation_id"] == response.headers["X-Correlation-ID"]
