"""Suspended means stopped, everywhere: all five services on RabbitMQ and PostgreSQL, after one event."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts import SERVICE as CONTRACTS
from services.jobs import SERVICE as JOBS
from services.payments import SERVICE as PAYMENTS
from services.reviews import SERVICE as REVIEWS
from services.users import SERVICE as USERS
from tests.e2e.conftest import _own
from tests.e2e.helpers import Market
from tests.support import eventually
from tests.users.helpers import new_account

DESTINATION = {"type": "bank_account", "account_number": "000123456789", "routing_number": "110000000"}


@pytest.fixture
def everyone_live(private_bus, make_pg_database, harness):
    built = {service.name: harness(private_bus.service(service), private_bus.settings, make_pg_database(service.name),
                                   **_own(service, payout_hold=timedelta(seconds=1)))
             for service in (USERS, JOBS, CONTRACTS, PAYMENTS, REVIEWS)}
    for service in built.values():
        service.start_worker()
    return built


def refused(response) -> bool:
    body = response.get_json() or {}
    return response.status_code == 403 and str(body.get("type", "")).endswith("account-suspended")


class TestSuspendedEverywhere:
    def test_every_service_refuses_the_suspended_freelancers_writes_and_reinstatement_undoes_it(self, everyone_live):
        users, reviews = everyone_live["users"], everyone_live["reviews"]
        account = users.client.post("/users", json=new_account(roles=["freelancer"])).get_json()
        market = Market(everyone_live["jobs"], everyone_live["contracts"], everyone_live["payments"])
        market.freelancer_id = account["id"]
        market.deposit(20_000)
        job, proposal = market.proposal_to_hire(amount=10_000)
        other_job, other = market.proposal_to_hire(amount=5_000)
        contract_id = market.hire(job, proposal)["contract_id"]
        market.wait_for(contract_id, "offered")

        admin = users.headers(market.admin_id, ["admin"])
        assert users.client.post(f"/users/{account['id']}/suspend", json={"reason": "Fraud"},
                                 headers=admin).status_code == 200

        # Offers to them are withdrawn with the refund saga; their waiting proposals are declined.
        assert market.wait_for(contract_id, "cancelled")["end_reason"] == "party_suspended"
        market.wait_proposal(job, proposal, "declined")
        assert market.proposal(other_job, other)["status"] == "declined"
        assert market.balance(market.client_id)["available"] == 20_000
        # A client cannot hire their other proposal.
        hire = market.services["jobs"].client.post(f"/jobs/{other_job['id']}/proposals/{other['id']}/hire",
                                                   json={}, headers=market.services["jobs"].headers(
                                                       market.client_id, ("client",)))
        assert hire.status_code == 409

        # Every service answers their (still unexpired) token's writes with 403 account-suspended.
        token = {name: service.headers(account["id"], ["freelancer"]) for name, service in everyone_live.items()}
        writes = {
            "users": lambda: users.client.patch("/users/me", json={"name": "Still here"}, headers=token["users"]),
            "jobs": lambda: market.services["jobs"].client.post(f"/jobs/{other_job['id']}/proposals", json={
                "cover_letter": "Again", "amount": 5_000}, headers=token["jobs"]),
            "contracts": lambda: market.services["contracts"].client.post(f"/contracts/{contract_id}/accept",
                                                                          headers=token["contracts"]),
            "payments": lambda: market.services["payments"].client.post("/payments/payouts", json={
                "amount": 100, "destination": DESTINATION}, headers=token["payments"]),
            "reviews": lambda: reviews.client.post("/reviews", json={"contract_id": contract_id, "rating": 5},
                                                   headers=token["reviews"]),
        }
        for name, write in writes.items():
            eventually(lambda write=write: refused(write()), timeout=20, message=f"{name} still accepts the suspended user's writes")
        # Reads of their own data stay.
        assert market.services["payments"].client.get("/payments/balance", headers=token["payments"]).status_code == 200

        assert users.client.post(f"/users/{account['id']}/reinstate", headers=admin).status_code == 200
        eventually(lambda: market.services["jobs"].client.post(f"/jobs/{other_job['id']}/proposals", json={
            "cover_letter": "Back", "amount": 5_000}, headers=token["jobs"]).status_code == 201, timeout=20)
        eventually(lambda: market.services["payments"].client.post("/payments/payouts", json={
            "amount": 100, "destination": DESTINATION}, headers=token["payments"]).status_code == 409, timeout=20)
        assert market.proposal(job, proposal)["status"] == "declined"  # what the suspension ended stays ended
        market.books_balance()
