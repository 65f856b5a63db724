"""A contract's timeline with the real payments service behind it (RabbitMQ and PostgreSQL): the money
each entry tells of is what payments moved, fees included."""
from __future__ import annotations

from tests.e2e import conftest as e2e

market_live = e2e.market_live  # jobs, contracts and payments together, on RabbitMQ and PostgreSQL


def changes(market, contract_id: str) -> list[tuple]:
    page = market.as_admin("GET", f"/contracts/{contract_id}/timeline?limit=100", expect=200)
    assert page["next_cursor"] is None
    return [(e["subject"], e["from_status"], e["to_status"], e["actor"]["kind"], e["actor"]["id"],
             {k: v for k, v in e["money"].items() if k != "available_at"}) for e in page["items"]]


class TestTheMoneyAsPaymentsMovedIt:
    def test_a_release_tells_the_escrow_the_client_fee_and_the_freelancer_fee(self, market_live):
        market = market_live
        market.deposit(20_000)
        job, proposal = market.proposal_to_hire(amount=10_000)
        contract_id = market.hire(job, proposal)["contract_id"]
        milestone_id = market.wait_for(contract_id, "offered")["milestones"][0]["id"]
        market.as_freelancer("POST", f"/contracts/{contract_id}/accept", expect=200)
        market.as_freelancer("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/submit",
                             {"message": "Done"}, expect=200)
        market.as_client("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/approve", expect=202)
        market.wait_for(contract_id, "completed")

        assert changes(market, contract_id) == [
            ("contract", None, "pending_funding", "event", "jobs.hire.requested", {}),
            ("milestone", None, "pending", "event", "jobs.hire.requested", {}),
            ("milestone", "pending", "funding", "event", "jobs.hire.requested", {}),
            ("milestone", "funding", "funded", "event", "payments.escrow.funded",
             {"amount": 10_000, "client_fee": 500}),
            ("contract", "pending_funding", "offered", "event", "payments.escrow.funded", {}),
            ("contract", "offered", "active", "user", market.freelancer_id, {}),
            ("milestone", "funded", "submitted", "user", market.freelancer_id, {}),
            ("milestone", "submitted", "approved", "user", market.client_id, {}),
            ("milestone", "approved", "released", "event", "payments.escrow.released",
             {"amount": 10_000, "freelancer_fee": 1_000}),
            ("contract", "active", "completed", "event", "payments.escrow.released", {}),
        ]
        released = market.as_admin("GET", f"/contracts/{contract_id}/timeline", expect=200)["items"][8]
        assert released["money"]["available_at"] > released["at"]  # the payout hold, as payments set it

    def test_a_declined_offer_tells_the_refund_of_the_escrow_and_the_client_fee(self, market_live):
        market = market_live
        market.deposit(12_000)
        job, proposal = market.proposal_to_hire(amount=10_000)
        contract_id = market.hire(job, proposal)["contract_id"]
        market.wait_for(contract_id, "offered")
        market.as_freelancer("POST", f"/contracts/{contract_id}/decline", {"note": "Booked"}, expect=202)
        market.wait_for(contract_id, "cancelled")

        assert changes(market, contract_id)[5:] == [
            ("contract", "offered", "cancelling", "user", market.freelancer_id, {}),
            ("milestone", "funded", "refunding", "user", market.freelancer_id, {}),
            ("milestone", "refunding", "refunded", "event", "payments.escrow.refunded",
             {"amount": 10_000, "client_fee": 500}),
            ("contract", "cancelling", "cancelled", "event", "payments.escrow.refunded", {}),
        ]
