"""The hiring saga: contract made on hire, offered once funded, accepted, declined, withdrawn or expired."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from shared.consumer import Outcome
from shared.events import Envelope
from shared.tables import TimerRow
from tests.contracts.helpers import Deal
from tests.support import eventually


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


class TestHireRequested:
    def test_makes_the_contract_pending_funding_and_asks_for_the_first_escrow(self, make_any_contracts):
        contracts = make_any_contracts(client_fee_bps=700, freelancer_fee_bps=1200)
        deal = contracts.hire(amounts=(10_000, 25_000))
        contract = deal.wait_for("funding", index=0)
        assert contract["status"] == "pending_funding"
        assert (contract["client_fee_bps"], contract["freelancer_fee_bps"]) == (700, 1200)
        assert contract["total_amount"] == 35_000 and contract["released_amount"] == 0
        assert contract["currency"] == "USD"
        assert [m["id"] for m in contract["milestones"]] == [m["milestone_id"] for m in deal.hire["milestones"]]
        assert [m["status"] for m in contract["milestones"]] == ["funding", "pending"]
        assert contract["milestones"][0]["due_date"] == "2027-01-15"
        assert deal.emitted("contracts.contract.created") == [{
            "contract_id": deal.id, "job_id": deal.hire["job_id"], "proposal_id": deal.hire["proposal_id"],
            "client_id": deal.client, "freelancer_id": deal.freelancer, "client_fee_bps": 700,
            "freelancer_fee_bps": 1200, "total_amount": 35_000, "type": "fixed", "hourly_rate": None,
            "weekly_limit_hours": None}]
        assert deal.emitted("contracts.milestone.funding_requested") == [{
            "contract_id": deal.id, "milestone_id": deal.milestone_id(0), "client_id": deal.client,
            "freelancer_id": deal.freelancer, "amount": 10_000, "client_fee_bps": 700}]

    def test_the_same_hire_twice_makes_one_contract(self, contracts_live):
        data = contracts_live.hire_data()
        first = contracts_live.harness.publish("jobs.hire.requested", data)
        contracts_live.harness.publish("jobs.hire.requested", data)
        eventually(lambda: contracts_live.consumed("jobs.hire.requested") >= 2, message="both hires were not handled")
        assert contracts_live.harness.deliver(first).outcome is Outcome.DUPLICATE
        assert len(contracts_live.emitted("contracts.contract.created", data["contract_id"])) == 1
        assert len(contracts_live.emitted("contracts.milestone.funding_requested", data["contract_id"])) == 1


class TestEscrowFundedAtHire:
    def test_offers_the_contract_until_the_offer_ttl(self, make_any_contracts):
        contracts = make_any_contracts(offer_ttl=timedelta(hours=2))
        deal = contracts.hire()
        before = datetime.now(timezone.utc)
        deal.funded()
        contract = deal.wait_for("offered")
        assert contract["milestones"][0]["status"] == "funded" and contract["milestones"][0]["funded_at"]
        expires = parse(contract["offer_expires_at"])
        assert before + timedelta(hours=2) <= expires <= datetime.now(timezone.utc) + timedelta(hours=2)
        [offered] = deal.emitted("contracts.contract.offered")
        assert offered["offer_expires_at"] == contract["offer_expires_at"]
        assert offered["proposal_id"] == deal.hire["proposal_id"]

    def test_a_repeated_funded_changes_nothing(self, contracts_live):
        deal = contracts_live.offered()
        again = deal.funded()
        assert contracts_live.harness.deliver(again).outcome in (Outcome.HANDLED, Outcome.DUPLICATE)
        assert len(deal.emitted("contracts.contract.offered")) == 1
        assert deal.contract()["status"] == "offered"

    def test_funded_before_the_hire_is_retried_then_applied(self, make_contracts_live):
        contracts = make_contracts_live(retry_delays=(timedelta(seconds=0.3), timedelta(seconds=1),
                                                      timedelta(seconds=3)))
        data = contracts.hire_data()
        milestone = data["milestones"][0]
        before = contracts.consumed("payments.escrow.funded", "retry")
        contracts.harness.publish("payments.escrow.funded", {"contract_id": data["contract_id"],
                                                        "milestone_id": milestone["milestone_id"],
                                                        "amount": milestone["amount"], "client_fee": 500})
        eventually(lambda: contracts.consumed("payments.escrow.funded", "retry") > before,
                   message="the early funded was never retried")
        contracts.harness.publish("jobs.hire.requested", data)
        Deal(contracts, data).wait_for("offered")

    def test_funded_before_the_hire_is_not_ready_rather_than_dropped(self, contracts):
        data = contracts.hire_data()
        milestone = data["milestones"][0]
        funded = Envelope.new("payments.escrow.funded", {"contract_id": data["contract_id"],
                                                         "milestone_id": milestone["milestone_id"],
                                                         "amount": milestone["amount"], "client_fee": 500},
                              producer="payments", correlation_id=data["contract_id"])
        assert contracts.harness.deliver(funded).outcome is Outcome.RETRY
        hire = Envelope.new("jobs.hire.requested", data, producer="jobs", correlation_id=data["contract_id"])
        assert contracts.harness.deliver(hire).outcome is Outcome.HANDLED
        assert contracts.harness.deliver(funded).outcome is Outcome.HANDLED
        assert Deal(contracts, data).contract()["status"] == "offered"


class TestFundingFailedAtHire:
    def test_insufficient_funds_cancels_the_contract(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.hire(amounts=(10_000, 5_000))
        deal.funding_failed()
        contract = deal.wait_for("cancelled")
        assert contract["end_reason"] == "funding_failed" and contract["ended_at"]
        assert [m["status"] for m in contract["milestones"]] == ["cancelled", "cancelled"]
        assert contract["milestones"][0]["last_error"] == "insufficient_funds"
        [cancelled] = deal.emitted("contracts.contract.cancelled")
        assert cancelled["end_reason"] == "funding_failed" and cancelled["released_amount"] == 0
        assert not deal.emitted("contracts.milestone.refund_requested")

    def test_a_late_funded_after_the_failure_is_refunded(self, contracts_live):
        deal = contracts_live.hire()
        deal.funding_failed()
        deal.wait_for("cancelled")
        deal.funded()
        eventually(lambda: deal.emitted("contracts.milestone.refund_requested"))
        assert deal.wait_for("refunding", index=0)["status"] == "cancelled"


class TestAccept:
    def test_the_freelancer_accepts_the_offer(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.offered()
        response = deal.post("accept", deal.freelancer)
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] == "active" and body["activated_at"]
        assert len(deal.emitted("contracts.contract.activated")) == 1
        with contracts.harness.runtime.db.transaction() as session:
            assert session.scalar(sa.select(TimerRow).where(TimerRow.key == deal.id)) is None

    def test_accept_is_409_unless_offered(self, contracts_live):
        deal = contracts_live.hire()
        response = deal.post("accept", deal.freelancer)
        assert response.status_code == 409
        assert "pending_funding" in response.get_json()["detail"]
        deal.funded()
        deal.wait_for("offered")
        assert deal.post("accept", deal.freelancer).status_code == 200
        assert deal.post("accept", deal.freelancer).status_code == 409


class TestDecline:
    def test_declining_refunds_the_escrow_then_cancels(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.offered()
        response = deal.post("decline", deal.freelancer, {"note": "Booked elsewhere"})
        assert response.status_code == 202
        assert response.get_json()["status"] == "cancelling"
        assert response.get_json()["milestones"][0]["status"] == "refunding"
        assert deal.emitted("contracts.milestone.refund_requested") == [{
            "contract_id": deal.id, "milestone_id": deal.milestone_id(0), "client_id": deal.client, "amount": 10_000}]
        deal.refunded()
        contract = deal.wait_for("cancelled")
        assert (contract["end_reason"], contract["end_note"]) == ("declined", "Booked elsewhere")
        assert contract["milestones"][0]["status"] == "refunded"
        [cancelled] = deal.emitted("contracts.contract.cancelled")
        assert (cancelled["end_reason"], cancelled["released_amount"]) == ("declined", 0)

    def test_decline_is_409_unless_offered(self, contracts_live):
        deal = contracts_live.active()
        assert deal.post("decline", deal.freelancer).status_code == 409


class TestWithdraw:
    def test_withdrawing_while_funding_refunds_a_late_funded(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.hire(amounts=(10_000, 3_000))
        response = deal.post("cancel", deal.client, {"note": "Changed my mind"})
        assert response.status_code == 202
        body = response.get_json()
        assert body["status"] == "cancelling"
        assert [m["status"] for m in body["milestones"]] == ["funding", "cancelled"]
        deal.funded()
        deal.wait_for("refunding", index=0)
        assert len(deal.emitted("contracts.milestone.refund_requested")) == 1
        assert not deal.emitted("contracts.contract.offered")
        deal.refunded()
        contract = deal.wait_for("cancelled")
        assert contract["end_reason"] == "withdrawn" and contract["milestones"][0]["status"] == "refunded"

    def test_withdrawing_while_funding_then_a_failure_keeps_withdrawn(self, contracts_live):
        deal = contracts_live.hire()
        assert deal.post("cancel", deal.client).status_code == 202
        deal.funding_failed()
        contract = deal.wait_for("cancelled")
        assert contract["end_reason"] == "withdrawn"
        assert contract["milestones"][0]["status"] == "cancelled"
        assert not deal.emitted("contracts.milestone.refund_requested")

    def test_withdrawing_an_offer_refunds_it(self, contracts_live):
        deal = contracts_live.offered()
        assert deal.post("cancel", deal.client).get_json()["status"] == "cancelling"
        deal.refunded()
        assert deal.wait_for("cancelled")["end_reason"] == "withdrawn"

    def test_the_freelancer_cannot_cancel_an_offer(self, contracts_live):
        deal = contracts_live.offered()
        response = deal.post("cancel", deal.freelancer)
        assert response.status_code == 409
        assert "decline" in response.get_json()["detail"]


class TestOfferExpiry:
    def test_an_unanswered_offer_expires_and_is_refunded(self, make_any_contracts):
        contracts = make_any_contracts(offer_ttl=timedelta(seconds=1))
        deal = contracts.offered()
        contract = deal.wait_for("cancelling", timeout=5)
        assert contract["end_reason"] == "expired"
        eventually(lambda: deal.emitted("contracts.milestone.refund_requested"))
        deal.refunded()
        assert deal.wait_for("cancelled")["end_reason"] == "expired"
        assert deal.emitted("contracts.contract.cancelled")[0]["end_reason"] == "expired"

    def test_an_accept_after_the_expiry_time_loses_even_before_the_timer_fires(self, make_contracts):
        contracts = make_contracts(offer_ttl=timedelta(milliseconds=300))
        contracts.harness.worker.stop()  # no timer fires: only the clock moves
        deal = Deal(contracts, contracts.hire_data())
        hire = Envelope.new("jobs.hire.requested", deal.hire, producer="jobs", correlation_id=deal.id)
        contracts.harness.deliver(hire)
        contracts.harness.deliver(Envelope.new("payments.escrow.funded", {
            "contract_id": deal.id, "milestone_id": deal.milestone_id(0), "amount": 10_000, "client_fee": 500},
            producer="payments", correlation_id=deal.id))
        assert deal.contract()["status"] == "offered"
        time.sleep(0.4)
        response = deal.post("accept", deal.freelancer)
        assert response.status_code == 409 and "expired" in response.get_json()["detail"]
        assert deal.contract()["status"] == "offered"

    def test_accept_racing_the_expiry_has_exactly_one_winner(self, make_contracts_live):
        contracts = make_contracts_live(offer_ttl=timedelta(seconds=1))
        deals = [contracts.hire() for _ in range(6)]
        for deal in deals:
            deal.funded()
        offered = [deal.wait_for("offered") for deal in deals]
        answers = {}

        def accept(deal, expires_at):
            # Aim at the expiry itself, a little before or after.
            delay = (expires_at - datetime.now(timezone.utc)).total_seconds() + (hash(deal.id) % 5 - 2) * 0.01
            time.sleep(max(0.0, delay))
            answers[deal.id] = deal.post("accept", deal.freelancer).status_code

        threads = [threading.Thread(target=accept, args=(deal, parse(c["offer_expires_at"])))
                   for deal, c in zip(deals, offered)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for deal in deals:
            if answers[deal.id] == 200:
                time.sleep(0.3)
                assert deal.contract()["status"] == "active"
                assert not deal.emitted("contracts.milestone.refund_requested")
            else:
                assert answers[deal.id] == 409
                assert deal.wait_for("cancelling")["end_reason"] == "expired"
                assert not deal.emitted("contracts.contract.activated")
