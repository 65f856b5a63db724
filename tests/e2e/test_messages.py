"""messages beside the hire: every notification comes from the real producers' events on RabbitMQ."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts import SERVICE as CONTRACTS
from services.jobs import SERVICE as JOBS
from services.messages import SERVICE as MESSAGES
from services.payments import SERVICE as PAYMENTS
from tests.e2e.conftest import _own
from tests.e2e.helpers import Market
from tests.support import eventually


@pytest.fixture
def talking_market(private_bus, make_pg_database, harness):
    """jobs, contracts, payments and messages against RabbitMQ and PostgreSQL, workers running."""
    built = {service.name: harness(private_bus.service(service), private_bus.settings, make_pg_database(service.name),
                                   **_own(service, payout_hold=timedelta(seconds=1)))
             for service in (JOBS, CONTRACTS, PAYMENTS, MESSAGES)}
    for service in built.values():
        service.start_worker()
    messages = built.pop("messages")
    return Market(**built), messages


@pytest.mark.amqp
@pytest.mark.postgres
class TestMessagesOfAHire:
    def test_the_room_follows_the_hire_and_each_party_is_told_its_steps(self, talking_market):
        market, messages = talking_market
        market.deposit(20_000)
        job, proposal = market.proposal_to_hire(amount=10_000)

        def rooms(user_id):
            return messages.client.get("/rooms", query_string={"proposal_id": proposal["id"]},
                                       headers=messages.headers(user_id)).get_json()["items"]

        [room] = eventually(lambda: rooms(market.client_id), timeout=20)
        assert (room["status"], room["job_title"]) == ("awaiting_client", job["title"])
        contract_id = market.hire(job, proposal)["contract_id"]
        offered = market.wait_for(contract_id, "offered")
        market.as_freelancer("POST", f"/contracts/{contract_id}/accept", expect=200)
        milestone_id = offered["milestones"][0]["id"]
        market.as_freelancer("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/submit",
                             {"message": "Done"}, expect=200)
        market.as_client("POST", f"/contracts/{contract_id}/milestones/{milestone_id}/approve", expect=202)
        market.wait_for(contract_id, "completed")

        def kinds(user_id, count):
            items = messages.client.get("/notifications?limit=50", headers=messages.headers(user_id)).get_json()["items"]
            return sorted(n["kind"] for n in items) if len(items) >= count else None

        assert eventually(lambda: kinds(market.freelancer_id, 6), timeout=30) == sorted([
            "offer.received", "milestone.funded", "contract.activated", "milestone.approved", "milestone.released",
            "contract.ended"])
        assert eventually(lambda: kinds(market.client_id, 4), timeout=30) == sorted([
            "proposal.received", "contract.activated", "milestone.submitted", "contract.ended"])
        [room] = rooms(market.freelancer_id)
        assert (room["status"], room["contract_id"]) == ("open", contract_id)
