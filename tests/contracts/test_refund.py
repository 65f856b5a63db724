"""The refund saga: a contract ended early refunds what nobody can work on, then is cancelled."""
from __future__ import annotations

import threading

from tests.support import eventually


def accept_claim(deal, claim: dict):
    return deal.post(f"milestones/{claim['milestone_id']}/refund-requests/{claim['refund_request_id']}/accept",
                     deal.freelancer)


def fund(deal, index: int) -> None:
    assert deal.act(index, "fund", deal.client).status_code == 202
    deal.funded(index)
    deal.wait_for("funded", index=index)


class TestEndAnActiveContract:
    def test_each_milestone_settles_by_its_state_then_the_contract_is_cancelled(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active(amounts=(10_000, 2_000, 3_000, 4_000, 5_000))
        fund(deal, 1)
        deal.submitted_and_approved(1)
        fund(deal, 2)
        deal.act(2, "submit", deal.freelancer, {"message": "Done"})
        deal.act(3, "fund", deal.client)

        response = deal.post("cancel", deal.client, {"note": "Project cancelled"})
        assert response.status_code == 202
        body = response.get_json()
        assert body["status"] == "cancelling" and body["end_reason"] == "ended_by_client"
        # Work handed in is not refunded silently: the ending opens a refund request the freelancer answers.
        assert [m["status"] for m in body["milestones"]] == [
            "refunding", "approved", "refund_requested", "funding", "cancelled"]
        refunds = deal.emitted("contracts.milestone.refund_requested")
        assert [r["milestone_id"] for r in refunds] == [deal.milestone_id(0)]
        [claim] = deal.emitted("contracts.refund_request.opened")
        assert (claim["milestone_id"], claim["amount"]) == (deal.milestone_id(2), 3_000)
        assert accept_claim(deal, claim).status_code == 202
        [split] = deal.emitted("contracts.milestone.split_requested")
        assert (split["freelancer_amount"], split["refund_amount"]) == (0, 3_000)

        deal.released(1)
        deal.wait_for("released", index=1)
        deal.funded(3)
        deal.wait_for("refunding", index=3)
        assert deal.contract()["status"] == "cancelling"
        for index in (0, 2, 3):
            deal.refunded(index)
        contract = deal.wait_for("cancelled")
        assert [m["status"] for m in contract["milestones"]] == ["refunded", "released", "refunded", "refunded",
                                                                  "cancelled"]
        assert (contract["end_reason"], contract["end_note"], contract["released_amount"]) == (
            "ended_by_client", "Project cancelled", 2_000)
        [cancelled] = deal.emitted("contracts.contract.cancelled")
        assert (cancelled["end_reason"], cancelled["released_amount"]) == ("ended_by_client", 2_000)
        assert not deal.emitted("contracts.contract.completed")

    def test_the_freelancer_ends_it_and_a_cancelling_contract_never_completes(self, contracts_live):
        deal = contracts_live.active(amounts=(10_000,))
        deal.submitted_and_approved(0)
        response = deal.post("cancel", deal.freelancer)
        assert response.status_code == 202 and response.get_json()["end_reason"] == "ended_by_freelancer"
        deal.released(0)
        contract = deal.wait_for("cancelled")
        assert contract["released_amount"] == 10_000 and contract["milestones"][0]["status"] == "released"
        assert not deal.emitted("contracts.contract.completed")
        assert deal.emitted("contracts.contract.cancelled")[0]["released_amount"] == 10_000

    def test_with_nothing_to_refund_it_still_answers_cancelling_then_settles(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active(amounts=(10_000, 5_000))
        deal.submitted_and_approved(0)
        deal.released(0)
        deal.wait_for("released", index=0)
        response = deal.post("cancel", deal.client)
        assert response.status_code == 202 and response.get_json()["status"] == "cancelling"
        contract = deal.wait_for("cancelled")
        assert [m["status"] for m in contract["milestones"]] == ["released", "cancelled"]
        assert contract["released_amount"] == 10_000
        assert not deal.emitted("contracts.milestone.refund_requested")

    def test_cancel_is_409_once_ending_or_ended(self, contracts_live):
        deal = contracts_live.active()
        assert deal.post("cancel", deal.client).status_code == 202
        assert deal.post("cancel", deal.client).status_code == 409
        assert deal.post("cancel", deal.freelancer).status_code == 409
        deal.refunded()
        deal.wait_for("cancelled")
        assert deal.post("cancel", deal.client).status_code == 409
        done = contracts_live.active()
        done.submitted_and_approved(0)
        done.released(0)
        done.wait_for("completed")
        assert done.post("cancel", done.client).status_code == 409

    def test_a_repeated_refund_changes_nothing(self, contracts_live):
        deal = contracts_live.offered()
        deal.post("decline", deal.freelancer)
        deal.refunded()
        deal.wait_for("cancelled")
        deal.refunded()
        eventually(lambda: len(deal.emitted("contracts.contract.cancelled")) == 1)
        assert deal.contract()["milestones"][0]["status"] == "refunded"


class TestApproveRacingCancel:
    def test_a_milestone_is_released_or_claimed_never_both(self, contracts_live):
        deals = [contracts_live.active() for _ in range(8)]
        for deal in deals:
            deal.act(0, "submit", deal.freelancer, {"message": "Done"})
        results = {}

        def race(deal):
            barrier = threading.Barrier(2)

            def approve():
                barrier.wait()
                results[(deal.id, "approve")] = deal.act(0, "approve", deal.client).status_code

            def cancel():
                barrier.wait()
                results[(deal.id, "cancel")] = deal.post("cancel", deal.client).status_code

            threads = [threading.Thread(target=approve), threading.Thread(target=cancel)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        for deal in deals:
            race(deal)
        for deal in deals:
            assert results[(deal.id, "cancel")] == 202
            approved = deal.emitted("contracts.milestone.approved")
            claims = deal.emitted("contracts.refund_request.opened")  # the ending claims the work handed in
            assert len(approved) + len(claims) == 1, (approved, claims)
            assert (results[(deal.id, "approve")] == 202) == bool(approved)
            assert not deal.emitted("contracts.milestone.refund_requested")
            if claims:
                assert accept_claim(deal, claims[0]).status_code == 202
            (deal.released if approved else deal.refunded)(0)
            contract = deal.wait_for("cancelled")
            assert contract["milestones"][0]["status"] == ("released" if approved else "refunded")
            assert contract["released_amount"] == (10_000 if approved else 0)


class TestPartySuspended:
    def test_offers_are_withdrawn_and_active_contracts_ended(self, make_any_contracts):
        contracts = make_any_contracts()
        offered = contracts.offered()
        freelancer = offered.freelancer
        pending = contracts.hire(freelancer_id=freelancer)
        active = contracts.active(freelancer_id=freelancer)
        finished = contracts.active(freelancer_id=freelancer)
        finished.submitted_and_approved(0)
        finished.released(0)
        finished.wait_for("completed")
        bystander = contracts.offered()

        contracts.harness.publish("users.user.suspended", {"user_id": freelancer, "reason": "Fraud"})
        for deal in (offered, active):
            assert deal.wait_for("cancelling")["end_reason"] == "party_suspended"
            deal.refunded()
            deal.wait_for("cancelled")
        assert pending.wait_for("cancelling")["end_reason"] == "party_suspended"
        pending.funding_failed()
        assert pending.wait_for("cancelled")["end_reason"] == "party_suspended"
        assert finished.contract()["status"] == "completed"
        assert bystander.contract()["status"] == "offered"
