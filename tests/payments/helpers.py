"""The words payments stories are told in: users, milestones, events from contracts, the books."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from services.payments import escrow, ledger
from services.payments.models import Account
from shared.events import Envelope
from shared.tables import OutboxRow, TimerRow
from tests.support import new_id

CARD = "4242424242424242"
DESTINATION = {"type": "bank_account", "account_number": "123456789", "routing_number": "110000000"}


@dataclass
class Milestone:
    """A milestone of a contract, as contracts describes it in its events."""

    amount: int = 10_000
    client_id: str = field(default_factory=new_id)
    freelancer_id: str = field(default_factory=new_id)
    contract_id: str = field(default_factory=new_id)
    milestone_id: str = field(default_factory=new_id)
    client_fee_bps: int = 500
    freelancer_fee_bps: int = 1000

    @property
    def ids(self) -> dict:
        return {"contract_id": self.contract_id, "milestone_id": self.milestone_id}

    def funding_requested(self) -> Envelope:
        return contracts_event("contracts.milestone.funding_requested", {
            **self.ids, "client_id": self.client_id, "freelancer_id": self.freelancer_id, "amount": self.amount,
            "client_fee_bps": self.client_fee_bps})

    def approved(self, auto: bool = False) -> Envelope:
        return contracts_event("contracts.milestone.approved", {
            **self.ids, "client_id": self.client_id, "freelancer_id": self.freelancer_id, "amount": self.amount,
            "freelancer_fee_bps": self.freelancer_fee_bps, "auto": auto})

    def refund_requested(self) -> Envelope:
        return contracts_event("contracts.milestone.refund_requested", {
            **self.ids, "client_id": self.client_id, "amount": self.amount})

    def next(self, **changes) -> "Milestone":
        """Another milestone of the same contract."""
        return Milestone(**{**self.__dict__, "milestone_id": new_id(), **changes})


def contracts_event(type_: str, data: dict) -> Envelope:
    return Envelope.new(type_, data, producer="contracts", correlation_id=data["contract_id"])


def redelivered(envelope: Envelope) -> Envelope:
    """The same event sent again under a new id (the inbox cannot absorb it; the state must)."""
    return Envelope(envelope.type, envelope.data, envelope.producer, envelope.correlation_id, envelope.causation_id,
                    id=new_id())


class Books:
    """A payments service under test, spoken to over HTTP and through its consumer."""

    def __init__(self, harness):
        self.harness = harness
        self.client = harness.client
        self.db = harness.runtime.db

    def headers(self, user_id: str, *roles: str, **extra) -> dict:
        return self.harness.headers(user_id, roles or ("client",), **extra)

    def deposit(self, user_id: str, amount: int, card: str = CARD, **headers):
        return self.client.post("/payments/deposits", json={"amount": amount, "card_number": card},
                                headers=self.headers(user_id, "client", **headers))

    def balance(self, user_id: str) -> dict:
        response = self.client.get("/payments/balance", headers=self.headers(user_id))
        assert response.status_code == 200, response.json
        return response.json

    def transactions(self, user_id: str, **query) -> dict:
        response = self.client.get("/payments/transactions", query_string=query, headers=self.headers(user_id))
        assert response.status_code == 200, response.json
        return response.json

    def payout(self, user_id: str, amount: int, destination: dict | None = None, **headers):
        return self.client.post("/payments/payouts", json={"amount": amount, "destination": destination or DESTINATION},
                                headers=self.headers(user_id, "freelancer", **headers))

    def get_payout(self, user_id: str, payout_id: str):
        return self.client.get(f"/payments/payouts/{payout_id}", headers=self.headers(user_id, "freelancer"))

    def escrow(self, user_id: str, contract_id: str):
        return self.client.get(f"/payments/escrow/{contract_id}", headers=self.headers(user_id))

    def deliver(self, envelope: Envelope):
        return self.harness.deliver(envelope)

    def fund(self, milestone: Milestone, *, deposit: bool = True) -> None:
        """The client deposits what the milestone and its fee cost, and payments funds it."""
        if deposit:
            need = milestone.amount + ledger.fee(milestone.amount, milestone.client_fee_bps)
            assert self.deposit(milestone.client_id, max(need, 500)).status_code == 201
        assert self.deliver(milestone.funding_requested()).settled
        assert self.answers(milestone)[-1]["type"] == "payments.escrow.funded"

    def earn(self, amount: int = 10_000) -> str:
        """A freelancer whose released money is available (the hold is over), paid by a new client."""
        milestone = Milestone(amount=amount, freelancer_fee_bps=0)
        self.fund(milestone)
        self.deliver(milestone.approved())
        with self.harness.runtime.unit_of_work() as uow:
            escrow.end_hold(uow, milestone.milestone_id)
        assert self.balance(milestone.freelancer_id)["available"] == amount
        return milestone.freelancer_id

    def answers(self, milestone: Milestone) -> list[dict]:
        """Every event payments emitted about this milestone, oldest first, as `{"type", **data}`."""
        return [{"type": row["type"], **row["data"]} for row in self.emitted()
                if row["data"].get("milestone_id") == milestone.milestone_id]

    def emitted(self, type_: str | None = None) -> list[dict]:
        with self.db.transaction() as session:
            query = sa.select(OutboxRow.body).order_by(OutboxRow.created_at, OutboxRow.id)
            if type_:
                query = query.where(OutboxRow.type == type_)
            return [json.loads(body) for body in session.scalars(query)]

    def last_emitted(self) -> dict:
        with self.db.transaction() as session:
            body = session.scalar(sa.select(OutboxRow.body).order_by(OutboxRow.created_at.desc()).limit(1))
            return json.loads(body)

    def timers(self) -> list[tuple[str, str, datetime]]:
        """The timers waiting, as (kind, key, due_at)."""
        with self.db.transaction() as session:
            return [tuple(row) for row in session.execute(sa.select(TimerRow.kind, TimerRow.key, TimerRow.due_at))]

    def fire_timers(self) -> int:
        from shared.timers import TimerLoop

        return TimerLoop(self.harness.runtime, dict(self.harness.service.timers)).fire_due()

    def check(self) -> dict:
        return ledger.check_database(self.db)

    def account(self, name: str) -> int:
        with self.db.transaction() as session:
            return session.scalar(sa.select(Account.balance).where(Account.name == name)) or 0
