"""messages on RabbitMQ: it learns from other services' events and puts its own on the bus."""
from __future__ import annotations

import pytest

from tests.messages.helpers import Proposal
from tests.support import eventually


@pytest.mark.amqp
@pytest.mark.postgres
class TestOnTheBus:
    def test_a_proposal_on_the_bus_opens_a_room_and_a_message_goes_out_without_its_body(self, messages_live, wire):
        wire.bind("messages.#")
        proposal = Proposal()

        messages_live.harness.publish("jobs.proposal.submitted", {
            "proposal_id": proposal.id, "job_id": proposal.job_id, "freelancer_id": proposal.freelancer_id,
            "amount": 10_000, "client_id": proposal.client_id, "job_title": proposal.job_title})

        eventually(lambda: messages_live.get("/rooms", proposal.client_id, proposal_id=proposal.id).json["items"],
                   timeout=15)
        room = messages_live.room_of(proposal)
        wire.wait_for("messages.room.opened", room_id=room["id"], timeout=15)
        message = messages_live.posted(room["id"], proposal.client_id, "private words")
        body, _ = wire.wait_for("messages.message.posted", message_id=message["id"], timeout=15)
        assert "private words" not in str(body)
        assert body["correlation_id"] == proposal.id

    def test_a_suspension_closes_the_room_and_the_reinstatement_reopens_it_on_the_wire(self, messages_live, wire):
        wire.bind("messages.room.*")
        proposal = Proposal()
        messages_live.harness.publish("jobs.proposal.submitted", {
            "proposal_id": proposal.id, "job_id": proposal.job_id, "freelancer_id": proposal.freelancer_id,
            "amount": 10_000, "client_id": proposal.client_id, "job_title": proposal.job_title})
        eventually(lambda: messages_live.get("/rooms", proposal.client_id, proposal_id=proposal.id).json["items"],
                   timeout=15)
        room_id = messages_live.room_of(proposal)["id"]

        messages_live.harness.publish("users.user.suspended", {"user_id": proposal.freelancer_id, "reason": "Fraud"})
        wire.wait_for("messages.room.made_read_only", room_id=room_id, timeout=15)
        messages_live.harness.publish("users.user.reinstated", {"user_id": proposal.freelancer_id,
                                                                "reinstated_at": "2026-12-02T10:00:00Z"})
        body, _ = wire.wait_for("messages.room.reopened", room_id=room_id, timeout=15)
        assert body["data"]["status"] == "awaiting_client"
        assert messages_live.room_of(proposal)["status"] == "awaiting_client"
