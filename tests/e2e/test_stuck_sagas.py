"""No saga stuck for good, across contracts and payments: payments cannot handle a request (every
delivery of it fails until it is dead-lettered); contracts sends it again past its deadline, payments
answers the new copy with what the money did, and the saga completes with the money moved once."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from services.contracts import SERVICE as CONTRACTS
from services.contracts.settings import ContractsSettings
from services.jobs import SERVICE as JOBS
from services.payments import SERVICE as PAYMENTS
from services.payments.bank import SandboxBank
from shared.bus.embedded import EmbeddedBus
from tests.e2e.helpers import Market
from tests.support import eventually

FAST = ContractsSettings(saga_resend_after=timedelta(milliseconds=500), saga_resend_max=timedelta(seconds=2))


class FirstCopyFails:
    """Payments' handler for `type_`, failing every delivery of the first request per milestone."""

    def __init__(self, type_: str):
        self.type = type_
        self.handler = PAYMENTS.handlers[type_]
        self.first: dict[str, str] = {}
        self.refused = 0

    def __call__(self, event, uow):
        first = self.first.setdefault(event.data["milestone_id"], event.id)
        if event.id == first:
            self.refused += 1
            raise RuntimeError("payments cannot handle this copy")
        return self.handler(event, uow)


def _own(base) -> dict:
    if base is CONTRACTS:
        return {"service_settings": FAST}
    if base is PAYMENTS:
        return {"collaborators": {"bank": SandboxBank(delay=(0.0, 0.0))}}
    return {}


@pytest.fixture(params=["embedded", "live"])
def broken_market(request, settings, make_sqlite_database, harness):
    """`broken_market(type_)`: jobs, contracts and payments, payments refusing the first `type_` request."""

    def make(type_: str) -> tuple[Market, FirstCopyFails]:
        flaky = FirstCopyFails(type_)
        payments = dataclasses.replace(PAYMENTS, handlers={**PAYMENTS.handlers, type_: flaky})
        if request.param == "embedded":
            shared = EmbeddedBus()
            built = {base.name: harness(service, settings, make_sqlite_database(base.name), bus=shared,
                                        **_own(base))
                     for base, service in ((JOBS, JOBS), (CONTRACTS, CONTRACTS), (PAYMENTS, payments))}
        else:
            private_bus = request.getfixturevalue("private_bus")
            make_pg_database = request.getfixturevalue("make_pg_database")
            built = {base.name: harness(private_bus.service(service), private_bus.settings,
                                        make_pg_database(base.name), **_own(base))
                     for base, service in ((JOBS, JOBS), (CONTRACTS, CONTRACTS), (PAYMENTS, payments))}
        for service in built.values():
            service.start_worker()
        return Market(**built), flaky

    return make


def dead_lettered(market: Market) -> float:
    registry = market.services["payments"].runtime.metrics.registry
    return sum(sample.value for family in registry.collect() if family.name == "events_dead_lettered"
               for sample in family.samples if sample.name.endswith("_total"))


class TestAStuckSagaCompletes:
    def test_a_funding_request_payments_dead_lettered_is_sent_again_and_the_offer_is_made(self, broken_market):
        market, flaky = broken_market("contracts.milestone.funding_requested")
        market.deposit(20_000)
        job, proposal = market.proposal_to_hire(amount=10_000)

        contract_id = market.hire(job, proposal)["contract_id"]

        offered = market.wait_for(contract_id, "offered", timeout=30)
        assert offered["milestones"][0]["status"] == "funded"
        assert flaky.refused >= 1
        eventually(lambda: dead_lettered(market) >= 1, 15, message="the first request was never dead-lettered")
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (20_000 - 10_000 - 500, 10_000)  # charged once
        market.books_balance()

    def test_a_refund_request_payments_dead_lettered_is_sent_again_and_the_contract_is_cancelled(self, broken_market):
        market, flaky = broken_market("contracts.milestone.refund_requested")
        market.deposit(20_000)
        job, proposal = market.proposal_to_hire(amount=10_000)
        contract_id = market.hire(job, proposal)["contract_id"]
        market.wait_for(contract_id, "offered", timeout=30)

        market.as_freelancer("POST", f"/contracts/{contract_id}/decline", {}, expect=202)

        cancelled = market.wait_for(contract_id, "cancelled", timeout=30)
        assert cancelled["milestones"][0]["status"] == "refunded"
        assert flaky.refused >= 1
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (20_000, 0)  # refunded once, fee included
        market.books_balance()
