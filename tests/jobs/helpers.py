"""The words jobs stories are told in: people, and the jobs service with moves that read like the story."""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from shared.tables import InboxRow, OutboxRow
from tests.support import Harness, eventually, new_id


@dataclass(frozen=True)
class Person:
    id: str
    headers: dict


class Jobs:
    """The jobs service under test, with small helpers that read like the story."""

    def __init__(self, harness: Harness):
        self.harness = harness
        self.http = harness.client

    def person(self, *roles: str) -> Person:
        user_id = new_id()
        return Person(user_id, self.harness.headers(user_id, roles or ("client",)))

    def client(self) -> Person:
        return self.person("client")

    def freelancer(self) -> Person:
        return self.person("freelancer")

    def post_job(self, owner: Person, **overrides) -> dict:
        body = {"title": "Build a landing page", "description": "A responsive page in plain HTML and CSS.",
                "skills": ["HTML", "CSS"], "budget_type": "fixed", "budget_amount": 50_000, **overrides}
        response = self.http.post("/jobs", json=body, headers=owner.headers)
        assert response.status_code == 201, response.json
        return response.json

    def propose(self, job: dict, freelancer: Person, **overrides) -> dict:
        body = {"cover_letter": "I have built many of these.", "amount": 45_000, "estimated_days": 7, **overrides}
        response = self.http.post(f"/jobs/{job['id']}/proposals", json=body, headers=freelancer.headers)
        assert response.status_code == 201, response.json
        return response.json

    def hire(self, job: dict, proposal: dict, owner: Person, body: dict | None = None, key: str | None = None):
        headers = {**owner.headers, **({"Idempotency-Key": key} if key else {})}
        return self.http.post(f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", json=body or {}, headers=headers)

    def job(self, job_id: str) -> dict:
        return self.http.get(f"/jobs/{job_id}").json

    def proposal(self, proposal: dict, viewer: Person) -> dict:
        return self.http.get(f"/jobs/{proposal['job_id']}/proposals/{proposal['id']}", headers=viewer.headers).json

    def handled(self, envelope) -> None:
        """Wait until the worker has handled (or ignored) this event: its id is in the inbox."""
        def seen():
            with self.harness.runtime.db.transaction() as session:
                return session.get(InboxRow, envelope.id) is not None
        eventually(seen, timeout=15, message=f"{envelope.type} {envelope.id} was not handled")

    def emitted(self, type_: str) -> list[dict]:
        """Envelopes of `type_` this service wrote to its outbox, oldest first."""
        with self.harness.runtime.db.transaction() as session:
            bodies = session.scalars(sa.select(OutboxRow.body).where(OutboxRow.type == type_)
                                     .order_by(OutboxRow.created_at))
            return [json.loads(body) for body in bodies]
