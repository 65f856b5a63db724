"""Refund requests and disputes told end to end through contracts' HTTP API and its bus, on each backend:
who may act, what each answer does to the milestone, and how the split is asked of payments."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.contracts.claims import (ADMIN, as_admin, ask_refund, dispute, disputed, on_dispute, on_request, opened,
                                    split, submitted)
from tests.support import new_id


class TestRefundRequests:
    def test_the_freelancer_accepts_and_the_escrow_is_split(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = submitted(contracts)
        request = opened(deal, 3_000)
        assert (request["status"], request["auto"], request["currency"]) == ("pending", False, "USD")
        milestone = deal.milestone(0)
        assert (milestone["status"], milestone["auto_approve_at"], milestone["refund_request_id"]) == (
            "refund_requested", None, request["id"])
        assert deal.act(0, "approve", deal.client).status_code == 409

        response = on_request(deal, request["id"], "accept", deal.freelancer)

        assert response.status_code == 202 and response.get_json()["status"] == "accepted"
        assert deal.milestone(0)["status"] == "splitting"
        [asked] = deal.emitted("contracts.milestone.split_requested")
        assert (asked["freelancer_amount"], asked["refund_amount"]) == (7_000, 3_000)
        split(deal, 0, 7_000, 3_000)
        contract = deal.wait_for("completed")
        shares = contract["milestones"][0]
        assert (shares["status"], shares["freelancer_amount"], shares["refund_amount"]) == ("split", 7_000, 3_000)
        assert contract["released_amount"] == 7_000

    def test_the_client_withdraws_and_the_work_is_auto_approved_anew(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = submitted(contracts)
        request = opened(deal)
        assert on_request(deal, request["id"], "withdraw", deal.freelancer).status_code == 403
        response = on_request(deal, request["id"], "withdraw", deal.client)
        assert response.status_code == 200 and response.get_json()["status"] == "withdrawn"
        milestone = deal.milestone(0)
        assert milestone["status"] == "submitted" and milestone["auto_approve_at"] is not None
        assert on_request(deal, request["id"], "accept", deal.freelancer).status_code == 409

    def test_out_of_range_is_422_naming_amount_and_strangers_get_404(self, contracts):
        deal = submitted(contracts)
        refused = ask_refund(deal, 10_001)
        assert refused.status_code == 422 and "amount" in refused.get_json()["errors"]
        assert ask_refund(deal, 1_000, user_id=deal.freelancer).status_code == 403
        assert ask_refund(deal, 1_000, user_id=new_id()).status_code == 404
        request = opened(deal)
        assert on_request(deal, request["id"], "accept", deal.client).status_code == 403
        assert on_request(deal, request["id"], "accept", new_id()).status_code == 404
        listed = deal.desk.http.get(f"/contracts/{deal.id}/milestones/{deal.milestone_id(0)}/refund-requests",
                                    headers=deal.desk.headers(deal.freelancer))
        assert [r["id"] for r in listed.get_json()["items"]] == [request["id"]]

    def test_the_same_idempotency_key_opens_one_request(self, contracts):
        deal = submitted(contracts)
        first = ask_refund(deal, 2_000, **{"Idempotency-Key": "refund-1"})
        again = ask_refund(deal, 2_000, **{"Idempotency-Key": "refund-1"})
        assert first.status_code == again.status_code == 201
        assert first.get_json()["id"] == again.get_json()["id"]
        assert len(deal.emitted("contracts.refund_request.opened")) == 1

    def test_unanswered_it_is_accepted_by_itself(self, make_any_contracts):
        contracts = make_any_contracts(refund_response_window=timedelta(milliseconds=300))
        deal = submitted(contracts)
        request = opened(deal, 4_000)
        deal.wait_for("splitting", index=0)
        got = deal.desk.http.get(f"/contracts/{deal.id}/milestones/{deal.milestone_id(0)}/refund-requests/"
                                 f"{request['id']}", headers=deal.desk.headers(deal.client)).get_json()
        assert (got["status"], got["auto"]) == ("accepted", True)
        assert on_request(deal, request["id"], "dispute", deal.freelancer, {"reason": "late"}).status_code == 409


class TestVoluntaryRefund:
    def test_a_discount_is_refunded_by_the_approval_in_one_split(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = submitted(contracts)
        assert deal.act(0, "refund", deal.freelancer, {"amount": 10_001}).status_code == 422
        assert deal.act(0, "refund", deal.client, {"amount": 1_000}).status_code == 403
        response = deal.act(0, "refund", deal.freelancer, {"amount": 1_000})
        assert response.status_code == 202 and response.get_json()["discount_amount"] == 1_000
        assert ask_refund(deal, 999).status_code == 422  # a request asks at least the discount

        assert deal.act(0, "approve", deal.client).status_code == 202

        assert not deal.emitted("contracts.milestone.approved")
        [asked] = deal.emitted("contracts.milestone.split_requested")
        assert (asked["freelancer_amount"], asked["refund_amount"]) == (9_000, 1_000)
        split(deal, 0, 9_000, 1_000)
        assert deal.wait_for("completed")["released_amount"] == 9_000


class TestDisputes:
    def test_mediation_both_accept_and_the_split_is_asked(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = submitted(contracts)
        opened_dispute = disputed(deal)
        did = opened_dispute["id"]
        assert (opened_dispute["status"], opened_dispute["requested_amount"], opened_dispute["amount"]) == (
            "open", 3_000, 10_000)
        assert deal.milestone(0)["status"] == "disputed"
        assert on_dispute(deal, did, "respond", deal.freelancer, {"statement": "x"}).status_code == 403
        assert on_dispute(deal, did, "respond", new_id(), {"statement": "x"}).status_code == 404
        assert on_dispute(deal, did, "respond", deal.client, {"statement": "Half missing"}).status_code == 200
        body = {"freelancer_amount": 6_000, "refund_amount": 4_000, "note": "Meet halfway"}
        assert on_dispute(deal, did, "proposal", deal.client, body).status_code == 403
        assert as_admin(deal, did, "proposal", {**body, "refund_amount": 3_000}).status_code == 422
        proposed = as_admin(deal, did, "proposal", body)
        assert proposed.status_code == 200 and proposed.get_json()["proposal"]["accept_by"]
        assert as_admin(deal, did, "accept").status_code == 403  # an admin answers for no party
        assert on_dispute(deal, did, "accept", deal.client).status_code == 200
        assert on_dispute(deal, did, "accept", deal.client).status_code == 409
        done = on_dispute(deal, did, "accept", deal.freelancer, {"note": "ok"}).get_json()

        assert (done["status"], done["resolution"], done["freelancer_amount"], done["refund_amount"]) == (
            "resolved", "agreed", 6_000, 4_000)
        [asked] = deal.emitted("contracts.milestone.split_requested")
        assert asked["refund_amount"] == 4_000
        split(deal, 0, 6_000, 4_000)
        assert deal.wait_for("completed")["milestones"][0]["status"] == "split"

    def test_a_reject_goes_to_arbitration_and_an_admin_decides(self, contracts):
        deal = submitted(contracts)
        did = disputed(deal)["id"]
        on_dispute(deal, did, "respond", deal.client, {"statement": "No"})
        as_admin(deal, did, "proposal", {"freelancer_amount": 5_000, "refund_amount": 5_000, "note": None})
        assert on_dispute(deal, did, "reject", deal.freelancer).get_json()["status"] == "arbitration"
        assert on_dispute(deal, did, "decision", deal.client,
                          {"freelancer_amount": 1, "refund_amount": 9_999, "note": None}).status_code == 403
        decided = as_admin(deal, did, "decision", {"freelancer_amount": 8_000, "refund_amount": 2_000, "note": "x"})
        assert decided.get_json()["resolution"] == "arbitrated"
        assert deal.emitted("contracts.milestone.split_requested")[0]["freelancer_amount"] == 8_000

    def test_no_response_gives_all_to_the_freelancer(self, make_any_contracts):
        contracts = make_any_contracts(dispute_response_window=timedelta(milliseconds=300))
        deal = submitted(contracts)
        did = disputed(deal)["id"]
        deal.wait_for("splitting", index=0)
        assert dispute(deal, did)["resolution"] == "no_response"
        assert on_dispute(deal, did, "respond", deal.client, {"statement": "late"}).status_code == 409
        deal.released(0)  # all of it went to the freelancer: payments answers released
        assert deal.wait_for("completed")["milestones"][0]["freelancer_amount"] == 10_000

    @pytest.mark.parametrize("party, resolution, milestone", [
        ("freelancer", "withdrawn_by_freelancer", "splitting"), ("client", "withdrawn_by_client", "submitted")])
    def test_withdrawal_by_either_party(self, contracts, party, resolution, milestone):
        deal = submitted(contracts)
        did = disputed(deal)["id"]
        done = on_dispute(deal, did, "withdraw", getattr(deal, party)).get_json()
        assert done["resolution"] == resolution and deal.milestone(0)["status"] == milestone
        assert on_dispute(deal, did, "withdraw", deal.client).status_code == 409

    def test_the_admins_queue_lists_open_disputes_oldest_first(self, contracts):
        first, second = submitted(contracts), submitted(contracts)
        ids = [disputed(first)["id"], disputed(second)["id"]]
        on_dispute(second, ids[1], "withdraw", second.freelancer)
        headers = contracts.headers(ADMIN, ("admin",))
        unresolved = [d["id"] for d in contracts.http.get("/contracts/disputes", headers=headers).get_json()["items"]]
        assert ids[0] in unresolved and ids[1] not in unresolved
        resolved = contracts.http.get("/contracts/disputes?status=resolved", headers=headers).get_json()["items"]
        assert ids[1] in [d["id"] for d in resolved]
        everyone = contracts.http.get("/contracts/disputes", headers=contracts.headers(first.client)).status_code
        assert everyone == 403


class TestEndingWithWorkHandedIn:
    def test_the_freelancer_disputes_the_ending_and_the_contract_waits(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = submitted(contracts)
        assert deal.post("cancel", deal.client).status_code == 202
        assert deal.milestone(0)["status"] == "refund_requested"
        assert not deal.emitted("contracts.milestone.refund_requested")
        [request] = deal.emitted("contracts.refund_request.opened")
        assert request["amount"] == 10_000
        reason = deal.desk.http.get(f"/contracts/{deal.id}/milestones/{deal.milestone_id(0)}/refund-requests",
                                    headers=deal.desk.headers(deal.freelancer)).get_json()["items"][0]["reason"]
        assert reason == "contract_ended"
        made = on_request(deal, request["refund_request_id"], "dispute", deal.freelancer, {"reason": "Done"})
        did = made.get_json()["id"]
        assert on_dispute(deal, did, "withdraw", deal.client).status_code == 409  # cancelling: the claim goes on

        on_dispute(deal, did, "respond", deal.client, {"statement": "No"})
        as_admin(deal, did, "proposal", {"freelancer_amount": 7_000, "refund_amount": 3_000, "note": None})
        on_dispute(deal, did, "accept", deal.client)
        on_dispute(deal, did, "accept", deal.freelancer)
        assert deal.contract()["status"] == "cancelling"
        split(deal, 0, 7_000, 3_000)

        contract = deal.wait_for("cancelled")
        assert (contract["released_amount"], contract["milestones"][0]["status"]) == (7_000, "split")
        assert not deal.emitted("contracts.contract.completed")
