"""A dispute from the ending of a contract to the split of its escrow, then a bonus, across jobs, contracts and
payments: on RabbitMQ and PostgreSQL, and on SQLite with the embedded bus. The books balance at every step."""
from __future__ import annotations

import pytest

from tests.support import eventually


def story(market) -> None:
    market.deposit(20_000)
    job, proposal = market.proposal_to_hire(amount=10_000)
    contract_id = market.hire(job, proposal)["contract_id"]
    milestone_id = market.wait_for(contract_id, "offered")["milestones"][0]["id"]
    market.as_freelancer("POST", f"/contracts/{contract_id}/accept", expect=200)
    milestone = f"/contracts/{contract_id}/milestones/{milestone_id}"
    market.as_freelancer("POST", f"{milestone}/submit", {"message": "Live at example.com"}, expect=200)

    # The client ends the contract with the work handed in: a refund request, not a silent refund.
    assert market.as_client("POST", f"/contracts/{contract_id}/cancel", expect=202)["status"] == "cancelling"
    [request] = market.as_freelancer("GET", f"{milestone}/refund-requests", expect=200)["items"]
    assert (request["reason"], request["amount"], request["status"]) == ("contract_ended", 10_000, "pending")
    dispute = market.as_freelancer("POST", f"{milestone}/refund-requests/{request['id']}/dispute",
                                   {"reason": "The page is live"}, expect=201)
    path = f"/contracts/{contract_id}/disputes/{dispute['id']}"
    market.as_client("POST", f"{path}/respond", {"statement": "Half of it is missing"}, expect=200)
    queue = market._call("GET", "/contracts/disputes", market.admin_id, ("admin",), expect=200)["items"]
    assert dispute["id"] in [d["id"] for d in queue]
    market._call("POST", f"{path}/proposal", market.admin_id, ("admin",),
                 {"freelancer_amount": 6_000, "refund_amount": 4_000, "note": "Meet in the middle"}, expect=200)
    market.as_client("POST", f"{path}/accept", expect=200)
    agreed = market.as_freelancer("POST", f"{path}/accept", expect=200)
    assert (agreed["resolution"], agreed["refund_amount"]) == ("agreed", 4_000)

    contract = market.wait_for(contract_id, "cancelled")
    shares = contract["milestones"][0]
    assert (shares["status"], shares["freelancer_amount"], shares["refund_amount"]) == ("split", 6_000, 4_000)
    assert contract["released_amount"] == 6_000
    # Freelancer: 6 000 less its 10 % fee; client: 4 000 and the client fee of that part (500 − 300) back.
    freelancer = market.balance(market.freelancer_id)
    assert freelancer["pending"] + freelancer["available"] == 5_400
    client = market.balance(market.client_id)
    assert (client["available"], client["in_escrow"]) == (20_000 - 10_500 + 4_200, 0)
    assert market.books_balance()["platform_fees"] == 600 + 300

    # A bonus on the recently ended contract: charged with the client fee, paid less the freelancer fee.
    bonus = market.as_client("POST", f"/contracts/{contract_id}/bonuses", {"amount": 1_000, "note": "Thanks"},
                             expect=202)
    paid = eventually(lambda: (got := market.as_client("GET", f"/contracts/{contract_id}/bonuses/{bonus['id']}",
                                                       expect=200))["status"] == "paid" and got, 20)
    assert (paid["client_fee"], paid["freelancer_fee"]) == (50, 100)
    freelancer = market.balance(market.freelancer_id)
    assert freelancer["pending"] + freelancer["available"] == 5_400 + 900
    assert market.balance(market.client_id)["available"] == 13_700 - 1_050
    assert market.books_balance()["platform_fees"] == 900 + 150

    # Too big for what is left: it fails cleanly and nothing moves.
    short = market.as_client("POST", f"/contracts/{contract_id}/bonuses", {"amount": 100_000}, expect=202)
    failed = eventually(lambda: (got := market.as_client("GET", f"/contracts/{contract_id}/bonuses/{short['id']}",
                                                         expect=200))["status"] == "failed" and got, 20)
    assert failed["failure_reason"] == "insufficient_funds"
    assert market.balance(market.client_id)["available"] == 12_650
    market.books_balance()


class TestDisputeToSplit:
    @pytest.mark.postgres
    def test_live(self, market_live):
        story(market_live)

    def test_embedded(self, market):
        story(market)
