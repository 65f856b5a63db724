"""The reviews service under test, and the contract ends that open its windows."""
from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa

from services.reviews.models import ReviewWindow
from shared.consumer import Outcome
from shared.events import Envelope
from shared.tables import InboxRow, OutboxRow, TimerRow
from tests.support import new_id


@dataclass(frozen=True)
class Contract:
    id: str
    client_id: str
    freelancer_id: str


class Reviews:
    """A reviews harness with the moves the stories make: end a contract, review it, read reviews."""

    def __init__(self, harness):
        self.harness = harness
        self.client = harness.client

    def end_event(self, contract: Contract, how: str = "completed", released_amount: int = 50_000) -> Envelope:
        """`contracts.contract.<how>` as the contracts service would publish it."""
        data = {"contract_id": contract.id, "job_id": new_id(), "client_id": contract.client_id,
                "freelancer_id": contract.freelancer_id, "released_amount": released_amount}
        if how == "cancelled":
            data |= {"proposal_id": new_id(), "end_reason": "ended_by_client", "end_note": None}
        return Envelope.new(f"contracts.contract.{how}", data, producer="contracts", correlation_id=contract.id)

    def new_contract(self, *, client_id: str | None = None, freelancer_id: str | None = None) -> Contract:
        return Contract(new_id(), client_id or new_id(), freelancer_id or new_id())

    def contract_ended(self, how: str = "completed", released_amount: int = 50_000, **parties) -> Contract:
        """A contract whose end event reviews has handled."""
        contract = self.new_contract(**parties)
        assert self.harness.deliver(self.end_event(contract, how, released_amount)).outcome is Outcome.HANDLED
        return contract

    def submit(self, user_id: str, contract_id: str, rating=5, comment: str | None = None, **extra):
        body = {"contract_id": contract_id, "rating": rating, **extra}
        if comment is not None:
            body["comment"] = comment
        return self.client.post("/reviews", json=body, headers=self.harness.headers(user_id))

    def reviewed(self, user_id: str, contract_id: str, rating: int = 5, comment: str = "") -> dict:
        response = self.submit(user_id, contract_id, rating, comment)
        assert response.status_code == 201, response.json
        return response.json

    def about(self, user_id: str, **query):
        return self.client.get("/reviews", query_string={"user_id": user_id, **query})

    def of_contract(self, user_id: str, contract_id: str):
        return self.client.get("/reviews", query_string={"contract_id": contract_id}, headers=self.harness.headers(user_id))

    def summary(self, user_id: str) -> dict:
        response = self.client.get(f"/reviews/summary/{user_id}")
        assert response.status_code == 200, response.json
        return response.json

    def published_events(self, contract_id: str) -> list[dict]:
        """`reviews.reviews.published` data this service wrote for the contract (sent or not)."""
        with self.harness.runtime.db.transaction() as session:
            bodies = session.scalars(sa.select(OutboxRow.body).where(OutboxRow.type == "reviews.reviews.published"))
            datas = [json.loads(body)["data"] for body in bodies]
        return [data for data in datas if data["contract_id"] == contract_id]

    def window(self, contract_id: str) -> ReviewWindow | None:
        with self.harness.runtime.db.transaction() as session:
            return session.get(ReviewWindow, contract_id)

    def timers(self, contract_id: str) -> list[TimerRow]:
        with self.harness.runtime.db.transaction() as session:
            return list(session.scalars(sa.select(TimerRow).where(TimerRow.key == contract_id)))

    def handled(self, envelope: Envelope) -> bool:
        with self.harness.runtime.db.transaction() as session:
            return session.get(InboxRow, envelope.id) is not None
