"""A suspended party in contracts: writes refused, offers both ways withdrawn, no new contract with them."""
from __future__ import annotations

from tests.support import assert_suspended_refusal, eventually


def suspend(contracts, user_id: str) -> None:
    # The metrics are the process's, so earlier tests' suspensions count too: wait for one more.
    before = contracts.consumed("users.user.suspended")
    envelope = contracts.harness.publish("users.user.suspended", {"user_id": user_id, "reason": "Fraud"})
    eventually(lambda: contracts.consumed("users.user.suspended") > before, message=f"{envelope.id} not handled")


class TestSuspendedParty:
    def test_a_suspended_freelancers_token_cannot_accept_an_offer(self, contracts):
        deal = contracts.offered()
        suspend(contracts, deal.freelancer)
        assert_suspended_refusal(deal.post("accept", deal.freelancer))
        assert deal.contract()["status"] in ("cancelling", "cancelled")
        assert deal.get(deal.freelancer).status_code == 200  # reading their own contract stays

    def test_offers_from_a_suspended_client_are_withdrawn_too(self, contracts):
        deal = contracts.offered()
        suspend(contracts, deal.client)
        assert deal.wait_for("cancelling")["end_reason"] == "party_suspended"
        deal.refunded()
        deal.wait_for("cancelled")
        assert_suspended_refusal(deal.post("cancel", deal.client))

    def test_a_hire_of_a_suspended_freelancer_ends_at_once_and_funds_nothing(self, contracts):
        freelancer = contracts.hire_data()["freelancer_id"]
        suspend(contracts, freelancer)
        deal = contracts.hire(freelancer_id=freelancer, wait=False)
        contract = deal.wait_for("cancelled")
        assert contract["end_reason"] == "party_suspended"
        assert [m["status"] for m in contract["milestones"]] == ["cancelled"]
        assert deal.emitted("contracts.milestone.funding_requested") == []
        [cancelled] = deal.emitted("contracts.contract.cancelled")
        assert cancelled["end_reason"] == "party_suspended" and cancelled["released_amount"] == 0

    def test_a_hire_by_a_suspended_client_ends_at_once(self, contracts):
        client = contracts.hire_data()["client_id"]
        suspend(contracts, client)
        deal = contracts.hire(client_id=client, wait=False)
        assert deal.wait_for("cancelled")["end_reason"] == "party_suspended"

    def test_a_hire_whose_funding_answers_after_the_suspension_is_refunded_and_ends(self, contracts):
        deal = contracts.hire()
        suspend(contracts, deal.freelancer)
        assert deal.wait_for("cancelling")["end_reason"] == "party_suspended"
        deal.funded(0)  # the escrow held before the suspension was heard goes back
        deal.wait_for("refunding", index=0)
        assert deal.emitted("contracts.milestone.refund_requested")
        deal.refunded(0)
        assert deal.wait_for("cancelled")["milestones"][0]["status"] == "refunded"

    def test_a_reinstated_freelancer_may_be_hired_again(self, contracts):
        freelancer = contracts.hire_data()["freelancer_id"]
        suspend(contracts, freelancer)
        before = contracts.consumed("users.user.reinstated")
        contracts.harness.publish("users.user.reinstated", {"user_id": freelancer, "reinstated_at": "2026-12-02T00:00:00Z"})
        eventually(lambda: contracts.consumed("users.user.reinstated") > before)
        deal = contracts.offered(freelancer_id=freelancer)
        assert deal.post("accept", deal.freelancer).status_code == 200
