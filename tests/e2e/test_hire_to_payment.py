"""A hire from proposal to payment, across jobs, contracts and payments on RabbitMQ and PostgreSQL."""
from __future__ import annotations

from tests.support import eventually


class TestHireToPayment:
    def test_hire_fund_accept_submit_approve_and_the_money_reaches_the_freelancer(self, market_live):
        market = market_live
        market.deposit(20_000)
        job, proposal = market.proposal_to_hire(amount=10_000)

        hired = market.hire(job, proposal)
        assert hired["status"] == "offer_pending" and hired["contract_id"]
        contract_id = hired["contract_id"]
        offered = market.wait_for(contract_id, "offered")
        assert (offered["client_fee_bps"], offered["freelancer_fee_bps"]) == (500, 1000)
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (20_000 - 10_000 - 500, 10_000)

        market.as_freelancer("POST", f"/contracts/{contract_id}/accept", expect=200)
        market.wait_proposal(job, proposal, "hired")
        eventually(lambda: market.as_client("GET", f"/jobs/{job['id']}", expect=200)["status"] == "filled")

        milestone_id = offered["milestones"][0]["id"]
        market.as_freelancer("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/submit",
                             {"message": "Live at example.com"}, expect=200)
        market.as_client("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/approve", expect=202)
        completed = market.wait_for(contract_id, "completed")
        assert completed["released_amount"] == 10_000
        assert completed["milestones"][0]["status"] == "released"

        freelancer = market.balance(market.freelancer_id)
        assert freelancer["pending"] + freelancer["available"] == 10_000 - 1_000
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (9_500, 0)
        market.books_balance()

    def test_a_second_milestone_is_funded_from_the_balance_and_released(self, market_live):
        market = market_live
        market.deposit(30_000)
        job, proposal = market.proposal_to_hire(amount=10_000)
        contract_id = market.hire(job, proposal)["contract_id"]
        market.wait_for(contract_id, "offered")
        market.as_freelancer("POST", f"/contracts/{contract_id}/accept", expect=200)
        added = market.as_client("POST", f"/contracts/{contract_id}/milestones",
                                 {"title": "Phase 2", "amount": 8_000}, expect=201)
        market.as_client("POST", f"/contracts/{contract_id}/milestones/{added['id']}/fund", expect=202)
        market.wait_for(contract_id, "funded", index=1)
        assert market.balance(market.client_id)["available"] == 30_000 - 10_500 - 8_400
        for index in (0, 1):
            milestone_id = market.contract(contract_id)["milestones"][index]["id"]
            market.as_freelancer("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/submit",
                                 {"message": "Done"}, expect=200)
            market.as_client("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/approve", expect=202)
        assert market.wait_for(contract_id, "completed")["released_amount"] == 18_000
        freelancer = market.balance(market.freelancer_id)
        assert freelancer["pending"] + freelancer["available"] == 18_000 - 1_800
        market.books_balance()


class TestHireFails:
    def test_insufficient_funds_at_hire_cancels_and_the_proposal_can_be_hired_again(self, market_live):
        market = market_live
        job, proposal = market.proposal_to_hire(amount=10_000)
        contract_id = market.hire(job, proposal)["contract_id"]

        cancelled = market.wait_for(contract_id, "cancelled")
        assert cancelled["end_reason"] == "funding_failed"
        assert cancelled["milestones"][0]["last_error"] == "insufficient_funds"
        market.wait_proposal(job, proposal, "submitted")
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (0, 0)

        market.deposit(10_500)
        again = market.hire(job, proposal)["contract_id"]
        assert again != contract_id
        market.wait_for(again, "offered")
        assert market.balance(market.client_id)["available"] == 0
        market.books_balance()

    def test_a_declined_offer_gives_the_client_everything_back(self, market_live):
        market = market_live
        market.deposit(12_000)
        job, proposal = market.proposal_to_hire(amount=10_000)
        contract_id = market.hire(job, proposal)["contract_id"]
        market.wait_for(contract_id, "offered")

        market.as_freelancer("POST", f"/contracts/{contract_id}/decline", {"note": "Booked"}, expect=202)
        cancelled = market.wait_for(contract_id, "cancelled")
        assert (cancelled["end_reason"], cancelled["milestones"][0]["status"]) == ("declined", "refunded")
        market.wait_proposal(job, proposal, "declined")
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (12_000, 0)
        market.books_balance()


class TestEmbedded:
    def test_hire_to_payment_on_sqlite_and_the_embedded_bus(self, market):
        market.deposit(10_500)
        job, proposal = market.proposal_to_hire(amount=10_000)
        contract_id = market.hire(job, proposal)["contract_id"]
        milestone_id = market.wait_for(contract_id, "offered")["milestones"][0]["id"]
        market.as_freelancer("POST", f"/contracts/{contract_id}/accept", expect=200)
        market.as_freelancer("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/submit",
                             {"message": "Done"}, expect=200)
        market.as_client("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/approve", expect=202)
        assert market.wait_for(contract_id, "completed")["released_amount"] == 10_000
        market.wait_proposal(job, proposal, "hired")
        freelancer = market.balance(market.freelancer_id)
        assert freelancer["pending"] + freelancer["available"] == 9_000
        market.books_balance()
