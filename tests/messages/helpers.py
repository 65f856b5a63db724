"""The messages service under test, and the events of other services that feed it."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import sqlalchemy as sa

from shared.consumer import Outcome
from shared.events import OWNERS, Envelope
from shared.tables import OutboxRow, TimerRow
from shared.timers import TimerLoop
from tests.support import new_id


@dataclass(frozen=True)
class Proposal:
    id: str = field(default_factory=new_id)
    job_id: str = field(default_factory=new_id)
    client_id: str = field(default_factory=new_id)
    freelancer_id: str = field(default_factory=new_id)
    job_title: str = "Build a landing page"

    def parties(self) -> dict:
        return {"job_id": self.job_id, "proposal_id": self.id, "client_id": self.client_id,
                "freelancer_id": self.freelancer_id}


class Messages:
    """A messages harness with the moves the stories make: feed events, open rooms, write, read."""

    def __init__(self, harness):
        self.harness = harness
        self.client = harness.client

    def event(self, type_: str, data: dict, correlation_id: str | None = None) -> Envelope:
        return Envelope.new(type_, data, producer=OWNERS[type_], correlation_id=correlation_id or new_id())

    def handle(self, type_: str, data: dict):
        """Hand the event to the consumer and insist it was handled."""
        result = self.harness.deliver(self.event(type_, data))
        assert result.outcome is Outcome.HANDLED, result
        return result

    def proposal_submitted(self, proposal: Proposal | None = None, amount: int = 45_000) -> Proposal:
        proposal = proposal or Proposal()
        self.handle("jobs.proposal.submitted", {"proposal_id": proposal.id, "job_id": proposal.job_id,
                                                "freelancer_id": proposal.freelancer_id, "amount": amount,
                                                "client_id": proposal.client_id, "job_title": proposal.job_title})
        return proposal

    def hire_requested(self, proposal: Proposal, contract_id: str | None = None) -> str:
        contract_id = contract_id or new_id()
        self.handle("jobs.hire.requested", {**proposal.parties(), "contract_id": contract_id, "title": "Hire",
                                            "milestones": [{"milestone_id": new_id(), "title": "All", "amount": 500}]})
        return contract_id

    def room_of(self, proposal: Proposal, user_id: str | None = None) -> dict:
        response = self.client.get("/rooms", query_string={"proposal_id": proposal.id},
                                   headers=self.harness.headers(user_id or proposal.client_id))
        assert response.status_code == 200, response.json
        [room] = response.json["items"]
        return room

    def post(self, room_id: str, user_id: str, body: str = "Hello!", **extra):
        return self.client.post(f"/rooms/{room_id}/messages", json={"body": body, **extra},
                                headers=self.harness.headers(user_id))

    def posted(self, room_id: str, user_id: str, body: str = "Hello!", **extra) -> dict:
        response = self.post(room_id, user_id, body, **extra)
        assert response.status_code == 201, response.json
        return response.json

    def get(self, path: str, user_id: str, roles=("client",), **query):
        return self.client.get(path, query_string=query, headers=self.harness.headers(user_id, roles))

    def notifications(self, user_id: str, **query) -> list[dict]:
        response = self.get("/notifications", user_id, **query)
        assert response.status_code == 200, response.json
        return response.json["items"]

    def kinds(self, user_id: str) -> list[str]:
        return [notification["kind"] for notification in reversed(self.notifications(user_id))]

    def emitted(self, type_: str) -> list[dict]:
        with self.harness.runtime.db.transaction() as session:
            bodies = session.scalars(sa.select(OutboxRow.body).where(OutboxRow.type == type_).order_by(OutboxRow.created_at))
            return [json.loads(body)["data"] for body in bodies]

    def timers(self, kind: str) -> list[TimerRow]:
        with self.harness.runtime.db.transaction() as session:
            return list(session.scalars(sa.select(TimerRow).where(TimerRow.kind == kind)))

    def fire_timers(self) -> int:
        """Fire every due timer now, as the worker would."""
        return TimerLoop(self.harness.runtime, dict(self.harness.service.timers)).fire_due()
