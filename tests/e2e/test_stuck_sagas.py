"""No saga stuck for good, across contracts and payments: payments cannot handle a request (every
delivery of it fails until it is dead-lettered); contracts sends it again past its deadline, payments
answers the new copy with what the money did, and the saga completes with the money moved once. The
same holds for an hourly invoice's charge and release; while one waits, it is a stuck saga."""
from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest

from services.contracts import SERVICE as CONTRACTS
from services.contracts.settings import ContractsSettings
from services.jobs import SERVICE as JOBS
from services.payments import SERVICE as PAYMENTS
from services.payments.bank import SandboxBank
from services.payments.settings import PaymentsSettings
from shared.bus.embedded import EmbeddedBus
from tests.e2e.helpers import Market
from tests.e2e.hourly import PAYMENTS as PAYMENT_TIMES, PERIOD, HourlyMarket
from tests.support import eventually

RESEND = {"saga_resend_after": timedelta(milliseconds=500), "saga_resend_max": timedelta(seconds=2)}
FAST = ContractsSettings(**RESEND)


class FirstCopyFails:
    """Payments' handler for `type_`, failing every delivery of the first request per milestone or invoice."""

    def __init__(self, type_: str):
        self.type = type_
        self.handler = PAYMENTS.handlers[type_]
        self.first: dict[str, str] = {}
        self.refused = 0
        self.fixed = threading.Event()
        self.fixed.set()

    def __call__(self, event, uow):
        first = self.first.setdefault(event.data.get("milestone_id") or event.data["invoice_id"], event.id)
        if event.id == first or not self.fixed.is_set():
            self.refused += 1
            raise RuntimeError("payments cannot handle this copy")
        return self.handler(event, uow)

    def until_fixed(self) -> FirstCopyFails:
        """Fail every copy, re-sends too, until `fix()`: the saga waits past its deadline meanwhile."""
        self.fixed.clear()
        return self

    def fix(self) -> None:
        self.fixed.set()


def _own(base, hourly: bool) -> dict:
    if base is CONTRACTS:
        return {"service_settings": ContractsSettings(**RESEND, **PERIOD) if hourly else FAST}
    if base is PAYMENTS:
        return {"collaborators": {"bank": SandboxBank(delay=(0.0, 0.0))},
                **({"service_settings": PaymentsSettings(**PAYMENT_TIMES)} if hourly else {})}
    return {}


@pytest.fixture(params=["embedded", "live"])
def broken_market(request, settings, make_sqlite_database, harness):
    """`broken_market(type_, hourly=False)`: jobs, contracts and payments, payments refusing the first `type_`
    request (with `hourly`, in a week of seconds)."""

    def make(type_: str, hourly: bool = False) -> tuple[HourlyMarket, FirstCopyFails]:
        flaky = FirstCopyFails(type_)
        payments = dataclasses.replace(PAYMENTS, handlers={**PAYMENTS.handlers, type_: flaky})
        if request.param == "embedded":
            shared = EmbeddedBus()
            built = {base.name: harness(service, settings, make_sqlite_database(base.name), bus=shared,
                                        **_own(base, hourly))
                     for base, service in ((JOBS, JOBS), (CONTRACTS, CONTRACTS), (PAYMENTS, payments))}
        else:
            private_bus = request.getfixturevalue("private_bus")
            make_pg_database = request.getfixturevalue("make_pg_database")
            built = {base.name: harness(private_bus.service(service), private_bus.settings,
                                        make_pg_database(base.name), **_own(base, hourly))
                     for base, service in ((JOBS, JOBS), (CONTRACTS, CONTRACTS), (PAYMENTS, payments))}
        for service in built.values():
            service.start_worker()
        return HourlyMarket(**built), flaky

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


class TestAStuckInvoiceCompletes:
    def test_a_charge_request_payments_dead_lettered_is_listed_as_stuck_sent_again_and_charged_once(
            self, broken_market):
        market, flaky = broken_market("contracts.invoice.charge_requested", hourly=True)
        flaky.until_fixed()
        market.deposit(20_000)
        _, _, contract_id = market.hourly_contract(rate=6_001, limit=10)
        market.log_week(contract_id, [100])  # 6001 × 100 / 60 = 10001.67 → 10002

        [waiting] = eventually(lambda: stuck(market, "pending_payment"), 15,
                               message="the unanswered charge was never stuck")
        assert waiting.id == market.invoices(contract_id)[0]["id"]
        eventually(lambda: stuck(market, "pending_payment")[0].attempts >= 1, 15, message="never sent again")
        flaky.fix()
        released = market.wait_invoice(contract_id, "released")

        assert flaky.refused >= 2 and released["amount"] == 10_002
        assert stuck(market) == []
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (20_000 - 10_002 - 500, 0)  # charged once
        eventually(lambda: market.balance(market.freelancer_id)["available"] == 10_002 - 1_000, 20)
        market.books_balance()

    def test_a_release_payments_dead_lettered_is_listed_as_stuck_sent_again_and_released_once(self, broken_market):
        market, flaky = broken_market("contracts.invoice.approved", hourly=True)
        flaky.until_fixed()
        market.deposit(20_000)
        _, _, contract_id = market.hourly_contract(rate=6_000, limit=10)
        market.log_week(contract_id, [60])

        # The review window is over and the release never comes back.
        eventually(lambda: stuck(market, "releasing"), 20, message="the unanswered release was never stuck")
        flaky.fix()
        market.wait_invoice(contract_id, "released")

        assert flaky.refused >= 1 and stuck(market) == []
        eventually(lambda: market.balance(market.freelancer_id)["available"] == 6_000 - 600, 20)  # released once
        market.books_balance()


def stuck(market: Market, state: str | None = None) -> list:
    """contracts' invoices past their deadline (in `state`), as `marketplace sagas stuck` lists them."""
    runtime = market.services["contracts"].runtime
    with runtime.db.transaction() as session:
        found = CONTRACTS.stuck_sagas(session, runtime.service_settings)
    return [saga for saga in found if saga.kind == "invoice" and state in (None, saga.state)]
