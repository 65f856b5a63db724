"""`Desk`: plays the jobs and payments services around contracts, and reads what contracts did."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from shared.tables import OutboxRow
from tests.support import Harness, eventually, new_id


class Desk:
    def __init__(self, harness: Harness):
        self.harness = harness
        self.http = harness.client

    # jobs --------------------------------------------------------------------------------

    def hire_data(self, amounts=(10_000,), **overrides) -> dict:
        data = {"contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(), "client_id": new_id(),
                "freelancer_id": new_id(), "title": "Build a landing page",
                "milestones": [{"milestone_id": new_id(), "title": f"Part {i + 1}", "amount": amount,
                                "due_date": date(2027, 1, 15) if i == 0 else None} for i, amount in enumerate(amounts)]}
        return {**data, **overrides}

    def hire(self, amounts=(10_000,), *, wait: bool = True, **overrides) -> "Deal":
        """jobs.hire.requested is published; returns the deal once contracts has made the contract."""
        data = self.hire_data(amounts, **overrides)
        self.harness.publish("jobs.hire.requested", data)
        deal = Deal(self, data)
        if wait:
            deal.wait_for("pending_funding")
        return deal

    def offered(self, amounts=(10_000,), **overrides) -> "Deal":
        deal = self.hire(amounts, **overrides)
        deal.funded(0)
        deal.wait_for("offered")
        return deal

    def active(self, amounts=(10_000,), **overrides) -> "Deal":
        deal = self.offered(amounts, **overrides)
        assert deal.post("accept", deal.freelancer).status_code == 200
        return deal

    # what contracts did ------------------------------------------------------------------

    def emitted(self, type_: str, contract_id: str | None = None, **match) -> list[dict]:
        """The data of every event of `type_` contracts wrote to its outbox, oldest first."""
        with self.harness.runtime.db.transaction() as session:
            bodies = session.scalars(sa.select(OutboxRow.body).where(OutboxRow.type == type_)
                                     .order_by(OutboxRow.created_at)).all()
        found = [json.loads(body)["data"] for body in bodies]
        match = {**match, **({"contract_id": contract_id} if contract_id else {})}
        return [data for data in found if all(data.get(k) == v for k, v in match.items())]

    def consumed(self, type_: str, outcome: str = "handled") -> float:
        """How many `type_` events the consumer has settled with `outcome` (handled, retry, …)."""
        registry = self.harness.runtime.metrics.registry
        return registry.get_sample_value("events_consumed_total", {"type": type_, "outcome": outcome}) or 0

    def headers(self, user_id: str, roles=("client", "freelancer"), **extra) -> dict:
        return self.harness.headers(user_id, roles, **extra)


class Deal:
    """One contract in the making, seen from its two parties and the payments service."""

    def __init__(self, desk: Desk, hire: dict):
        self.desk = desk
        self.hire = hire
        self.id = hire["contract_id"]
        self.client = hire["client_id"]
        self.freelancer = hire["freelancer_id"]

    def milestone_id(self, index: int) -> str:
        if index < len(self.hire["milestones"]):
            return self.hire["milestones"][index]["milestone_id"]
        return self.contract()["milestones"][index]["id"]

    def amount(self, index: int) -> int:
        if index < len(self.hire["milestones"]):
            return self.hire["milestones"][index]["amount"]
        return self.contract()["milestones"][index]["amount"]

    # HTTP --------------------------------------------------------------------------------

    def get(self, user_id: str | None = None, roles=("client", "freelancer")):
        return self.desk.http.get(f"/contracts/{self.id}", headers=self.desk.headers(user_id or self.client, roles))

    def contract(self) -> dict:
        response = self.get()
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def milestone(self, index: int) -> dict:
        return self.contract()["milestones"][index]

    def post(self, action: str, user_id: str, body: dict | None = None, **headers):
        return self.desk.http.post(f"/contracts/{self.id}/{action}", json=body,
                                   headers=self.desk.headers(user_id, **headers))

    def act(self, index: int, action: str, user_id: str, body: dict | None = None, **headers):
        return self.post(f"milestones/{self.milestone_id(index)}/{action}", user_id, body, **headers)

    def wait_for(self, status: str, index: int | None = None, timeout: float = 10) -> dict:
        """The contract once it (or milestone `index`) has reached `status`."""
        def reached():
            response = self.get()
            if response.status_code != 200:
                return None
            body = response.get_json()
            current = body["status"] if index is None else body["milestones"][index]["status"]
            return body if current == status else None

        return eventually(reached, timeout, message=f"contract {self.id} "
                          f"{'' if index is None else f'milestone {index} '}never became {status}")

    def submitted_and_approved(self, index: int = 0) -> None:
        assert self.act(index, "submit", self.freelancer, {"message": "Done"}).status_code == 200
        assert self.act(index, "approve", self.client).status_code == 202

    # payments ----------------------------------------------------------------------------

    def _money(self, index: int) -> dict:
        return {"contract_id": self.id, "milestone_id": self.milestone_id(index)}

    def event(self, type_: str, index: int, **data):
        """A payments answer about milestone `index`, published onto the bus."""
        return self.desk.harness.publish(type_, {**self._money(index), **data}, correlation_id=self.id)

    def funded(self, index: int = 0):
        amount = self.amount(index)
        return self.event("payments.escrow.funded", index, amount=amount, client_fee=amount * 5 // 100)

    def funding_failed(self, index: int = 0, reason: str = "insufficient_funds"):
        return self.event("payments.escrow.funding_failed", index, reason=reason)

    def released(self, index: int = 0):
        amount = self.amount(index)
        return self.event("payments.escrow.released", index, freelancer_id=self.freelancer, amount=amount,
                          freelancer_fee=amount // 10, available_at=datetime.now(timezone.utc) + timedelta(days=5))

    def refunded(self, index: int = 0):
        amount = self.amount(index)
        return self.event("payments.escrow.refunded", index, client_id=self.client, amount=amount,
                          client_fee=amount * 5 // 100)

    def emitted(self, type_: str, **match) -> list[dict]:
        return self.desk.emitted(type_, self.id, **match)
