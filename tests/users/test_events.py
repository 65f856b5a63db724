"""The users service's event schemas survive a trip through an envelope."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.events import Envelope
from shared.events.users import EVENTS
from tests.support import new_id

SAMPLES = {
    "users.user.registered": {"user_id": new_id(), "email": "ada@example.com", "name": "Ada",
                              "roles": ["client", "freelancer"]},
    "users.user.suspended": {"user_id": new_id(), "reason": "Fraud"},
    "users.user.reinstated": {"user_id": new_id(), "reinstated_at": datetime(2026, 12, 2, 3, 4, 5, tzinfo=timezone.utc)},
}


class TestUsersEvents:
    def test_every_event_has_a_sample(self):
        assert set(SAMPLES) == set(EVENTS)

    @pytest.mark.parametrize("type_", sorted(SAMPLES))
    def test_round_trip(self, type_):
        sent = Envelope.new(type_, SAMPLES[type_], producer="users", correlation_id=new_id())

        received = Envelope.from_json(sent.to_json())

        assert received == sent
        assert received.load() == SAMPLES[type_]

    def test_the_reinstatement_time_travels_as_rfc3339_utc(self):
        sent = Envelope.new("users.user.reinstated", SAMPLES["users.user.reinstated"], producer="users",
                            correlation_id=new_id())
        assert sent.data["reinstated_at"] == "2026-12-02T03:04:05Z"
