"""Escrow funding of later milestones, and the release saga: submit, request changes, approve, released."""
from __future__ import annotations

import time
from datetime import timedelta

from tests.support import eventually


class TestAddMilestone:
    def test_the_client_adds_a_pending_milestone_to_an_active_contract(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active()
        response = deal.post("milestones", deal.client, {"title": "Phase 2", "amount": 7_500, "due_date": "2027-03-01"})
        assert response.status_code == 201
        milestone = response.get_json()
        assert (milestone["status"], milestone["amount"], milestone["due_date"]) == ("pending", 7_500, "2027-03-01")
        assert milestone["contract_id"] == deal.id
        contract = deal.contract()
        assert [m["id"] for m in contract["milestones"]][-1] == milestone["id"]
        assert contract["total_amount"] == 17_500

    def test_adding_is_409_unless_active_and_422_below_500(self, contracts_live):
        deal = contracts_live.offered()
        assert deal.post("milestones", deal.client, {"title": "More", "amount": 1_000}).status_code == 409
        response = deal.post("milestones", deal.client, {"title": "More", "amount": 499})
        assert response.status_code == 422 and "amount" in response.get_json()["errors"]


class TestFundMilestone:
    def test_funding_moves_pending_to_funding_then_funded(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active()
        deal.post("milestones", deal.client, {"title": "Phase 2", "amount": 7_500})
        response = deal.act(1, "fund", deal.client)
        assert response.status_code == 202 and response.get_json()["status"] == "funding"
        [request] = deal.emitted("contracts.milestone.funding_requested", milestone_id=deal.milestone_id(1))
        assert (request["amount"], request["client_fee_bps"]) == (7_500, 500)
        deal.funded(1)
        assert deal.wait_for("funded", index=1)["milestones"][1]["funded_at"]

    def test_a_second_fund_is_409_and_the_same_key_replays(self, contracts_live):
        deal = contracts_live.active()
        deal.post("milestones", deal.client, {"title": "Phase 2", "amount": 7_500})
        first = deal.act(1, "fund", deal.client, **{"Idempotency-Key": "fund-1"})
        replay = deal.act(1, "fund", deal.client, **{"Idempotency-Key": "fund-1"})
        assert first.status_code == replay.status_code == 202
        assert first.get_json() == replay.get_json()
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert deal.act(1, "fund", deal.client).status_code == 409
        assert len(deal.emitted("contracts.milestone.funding_requested", milestone_id=deal.milestone_id(1))) == 1
        deal.funded(1)
        deal.wait_for("funded", index=1)
        assert deal.act(1, "fund", deal.client).status_code == 409

    def test_a_failed_funding_goes_back_to_pending_with_the_reason(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active()
        deal.post("milestones", deal.client, {"title": "Phase 2", "amount": 7_500})
        deal.act(1, "fund", deal.client)
        deal.funding_failed(1)
        contract = deal.wait_for("pending", index=1)
        assert contract["milestones"][1]["last_error"] == "insufficient_funds"
        assert contract["status"] == "active"
        assert deal.act(1, "fund", deal.client).get_json()["last_error"] is None

    def test_funding_is_409_unless_the_contract_is_active(self, contracts_live):
        deal = contracts_live.offered(amounts=(10_000, 5_000))
        response = deal.act(1, "fund", deal.client)
        assert response.status_code == 409 and "offered" in response.get_json()["detail"]


class TestSubmitAndReview:
    def test_submit_sets_the_auto_approval_and_request_changes_clears_it(self, make_any_contracts):
        contracts = make_any_contracts(auto_approve_after=timedelta(days=3))
        deal = contracts.active()
        response = deal.act(0, "submit", deal.freelancer, {"message": "Here it is"})
        assert response.status_code == 200
        milestone = response.get_json()
        assert milestone["status"] == "submitted" and milestone["submitted_at"] and milestone["auto_approve_at"]
        [submitted] = deal.emitted("contracts.milestone.submitted")
        assert submitted["auto_approve_at"] == milestone["auto_approve_at"]
        response = deal.act(0, "request-changes", deal.client, {"message": "Bigger logo"})
        assert response.status_code == 200
        assert (response.get_json()["status"], response.get_json()["auto_approve_at"]) == ("changes_requested", None)
        assert deal.act(0, "submit", deal.freelancer, {"message": "Bigger now"}).get_json()["status"] == "submitted"

    def test_submit_needs_a_funded_milestone_and_a_message(self, contracts_live):
        deal = contracts_live.active(amounts=(10_000, 5_000))
        assert deal.act(1, "submit", deal.freelancer, {"message": "Early"}).status_code == 409
        assert deal.act(0, "submit", deal.freelancer, {"message": ""}).status_code == 422
        assert deal.act(0, "submit", deal.freelancer, {}).status_code == 422
        assert deal.act(0, "request-changes", deal.client, {"message": "Not yet"}).status_code == 409


class TestApproveAndRelease:
    def test_approve_then_released_completes_the_contract(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active()
        deal.act(0, "submit", deal.freelancer, {"message": "Done"})
        response = deal.act(0, "approve", deal.client)
        assert response.status_code == 202 and response.get_json()["status"] == "approved"
        assert deal.emitted("contracts.milestone.approved") == [{
            "contract_id": deal.id, "milestone_id": deal.milestone_id(0), "client_id": deal.client,
            "freelancer_id": deal.freelancer, "amount": 10_000, "freelancer_fee_bps": 1000, "auto": False}]
        deal.released()
        contract = deal.wait_for("completed")
        assert contract["released_amount"] == 10_000 and contract["ended_at"]
        assert contract["milestones"][0]["status"] == "released" and contract["milestones"][0]["released_at"]
        assert deal.emitted("contracts.contract.completed") == [{
            "contract_id": deal.id, "job_id": deal.hire["job_id"], "client_id": deal.client,
            "freelancer_id": deal.freelancer, "released_amount": 10_000}]

    def test_the_contract_completes_only_when_every_milestone_is_released(self, contracts_live):
        deal = contracts_live.active(amounts=(10_000, 4_000))
        deal.submitted_and_approved(0)
        deal.released(0)
        contract = deal.wait_for("released", index=0)
        assert contract["status"] == "active" and contract["released_amount"] == 10_000
        deal.act(1, "fund", deal.client)
        deal.funded(1)
        deal.wait_for("funded", index=1)
        deal.submitted_and_approved(1)
        deal.released(1)
        assert deal.wait_for("completed")["released_amount"] == 14_000
        deal.released(1)
        eventually(lambda: len(deal.emitted("contracts.contract.completed")) == 1)

    def test_approve_honours_the_idempotency_key_and_a_second_approve_is_409(self, contracts_live):
        deal = contracts_live.active()
        deal.act(0, "submit", deal.freelancer, {"message": "Done"})
        first = deal.act(0, "approve", deal.client, **{"Idempotency-Key": "ok-1"})
        again = deal.act(0, "approve", deal.client, **{"Idempotency-Key": "ok-1"})
        assert first.status_code == again.status_code == 202 and first.get_json() == again.get_json()
        assert deal.act(0, "approve", deal.client).status_code == 409
        assert len(deal.emitted("contracts.milestone.approved")) == 1

    def test_approve_is_409_unless_submitted(self, contracts_live):
        deal = contracts_live.active()
        response = deal.act(0, "approve", deal.client)
        assert response.status_code == 409 and "funded" in response.get_json()["detail"]


class TestAutoApproval:
    def test_a_submitted_milestone_is_approved_after_auto_approve_after(self, make_any_contracts):
        contracts = make_any_contracts(auto_approve_after=timedelta(seconds=1))
        deal = contracts.active()
        deal.act(0, "submit", deal.freelancer, {"message": "Done"})
        deal.wait_for("approved", index=0, timeout=5)
        [approved] = deal.emitted("contracts.milestone.approved")
        assert approved["auto"] is True
        deal.released()
        assert deal.wait_for("completed")["released_amount"] == 10_000

    def test_requesting_changes_stops_the_auto_approval(self, make_contracts_live):
        contracts = make_contracts_live(auto_approve_after=timedelta(seconds=1))
        deal = contracts.active()
        deal.act(0, "submit", deal.freelancer, {"message": "Done"})
        deal.act(0, "request-changes", deal.client, {"message": "Fix it"})
        time.sleep(1.5)  # past the auto-approval time that no longer applies
        assert deal.milestone(0)["status"] == "changes_requested"
        assert not deal.emitted("contracts.milestone.approved")
