"""Bonuses through contracts' API: who may pay one, on which contracts, and what payments' answer records."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services.contracts.models import Contract
from tests.support import eventually, new_id


def pay(deal, amount: int = 5_000, user_id: str | None = None, **headers):
    return deal.post("bonuses", user_id or deal.client, {"amount": amount, "note": "Thanks"}, **headers)


def bonus(deal, bonus_id: str) -> dict:
    return deal.desk.http.get(f"/contracts/{deal.id}/bonuses/{bonus_id}",
                              headers=deal.desk.headers(deal.freelancer)).get_json()


class TestBonus:
    def test_the_client_pays_a_bonus_and_payments_answer_is_kept(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active()
        response = pay(deal, **{"Idempotency-Key": "bonus-1"})
        assert response.status_code == 202
        made = response.get_json()
        assert pay(deal, **{"Idempotency-Key": "bonus-1"}).get_json()["id"] == made["id"]
        assert (made["status"], made["amount"], made["currency"]) == ("pending", 5_000, "USD")
        [asked] = deal.emitted("contracts.bonus.requested")
        assert (asked["bonus_id"], asked["client_fee_bps"], asked["freelancer_fee_bps"]) == (made["id"], 500, 1000)

        available_at = datetime.now(timezone.utc) + timedelta(days=5)
        paid = {"bonus_id": made["id"], "contract_id": deal.id, "amount": 5_000, "client_fee": 250,
                "freelancer_fee": 500, "available_at": available_at}
        contracts.harness.publish("payments.bonus.paid", paid, correlation_id=deal.id)
        got = eventually(lambda: (b := bonus(deal, made["id"]))["status"] == "paid" and b)
        assert (got["client_fee"], got["freelancer_fee"]) == (250, 500)
        contracts.harness.publish("payments.bonus.failed", {**paid, "reason": "insufficient_funds"},
                                  correlation_id=deal.id)  # a stale answer changes nothing
        eventually(lambda: contracts.consumed("payments.bonus.failed") >= 1)
        assert bonus(deal, made["id"])["status"] == "paid"
        listed = contracts.http.get(f"/contracts/{deal.id}/bonuses", headers=contracts.headers(deal.client))
        assert [b["id"] for b in listed.get_json()["items"]] == [made["id"]]

    def test_a_failed_bonus_says_why(self, contracts):
        deal = contracts.active()
        made = pay(deal).get_json()
        contracts.harness.publish("payments.bonus.failed", {
            "bonus_id": made["id"], "contract_id": deal.id, "amount": 5_000, "client_fee": 250,
            "freelancer_fee": 500, "reason": "insufficient_funds"}, correlation_id=deal.id)
        got = eventually(lambda: (b := bonus(deal, made["id"]))["status"] == "failed" and b)
        assert got["failure_reason"] == "insufficient_funds"

    def test_who_may_pay_and_on_which_contracts(self, contracts):
        deal = contracts.active()
        assert pay(deal, user_id=deal.freelancer).status_code == 403
        assert pay(deal, user_id=new_id()).status_code == 404
        assert pay(deal, amount=99).status_code == 422
        assert pay(contracts.offered()).status_code == 409  # never active
        deal.submitted_and_approved(0)
        deal.released(0)
        deal.wait_for("completed")
        assert pay(deal).status_code == 202  # recently ended
        with contracts.harness.runtime.db.transaction() as session:
            session.execute(sa.update(Contract).where(Contract.id == deal.id)
                            .values(ended_at=datetime.now(timezone.utc) - timedelta(days=366)))
        assert pay(deal).status_code == 409
