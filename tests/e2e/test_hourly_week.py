"""One hourly week across jobs, contracts and payments: time logged over the limit, the timesheet closed,
the invoice charged, reviewed, released; a short balance pauses the contract until a deposit pays it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts import SERVICE as CONTRACTS
from services.contracts.settings import ContractsSettings
from services.jobs import SERVICE as JOBS
from services.payments import SERVICE as PAYMENTS
from services.payments.bank import SandboxBank
from services.payments.settings import PaymentsSettings
from shared.bus.embedded import EmbeddedBus
from tests.e2e.hourly import PAYMENTS as PAYMENT_TIMES, PERIOD, HourlyMarket
from tests.support import eventually


def _own(service, **contracts) -> dict:
    if service is PAYMENTS:
        return {"service_settings": PaymentsSettings(**PAYMENT_TIMES),
                "collaborators": {"bank": SandboxBank(delay=(0.0, 0.0))}}
    if service is CONTRACTS:
        return {"service_settings": ContractsSettings(**{**PERIOD, **contracts})}
    return {}


def _started(built: dict) -> HourlyMarket:
    for service in built.values():
        service.start_worker()
    return HourlyMarket(**built)


@pytest.fixture
def hourly_embedded(settings, make_sqlite_database, harness) -> HourlyMarket:
    shared = EmbeddedBus()
    return _started({service.name: harness(service, settings, make_sqlite_database(service.name), bus=shared,
                                           **_own(service)) for service in (JOBS, CONTRACTS, PAYMENTS)})


@pytest.fixture
def disputable_embedded(settings, make_sqlite_database, harness) -> HourlyMarket:
    """The embedded market with a review window long enough to dispute in."""
    shared = EmbeddedBus()
    return _started({service.name: harness(service, settings, make_sqlite_database(service.name), bus=shared,
                                           **_own(service, invoice_review_window=timedelta(hours=1)))
                     for service in (JOBS, CONTRACTS, PAYMENTS)})


@pytest.fixture
def hourly_live(private_bus, make_pg_database, harness) -> HourlyMarket:
    return _started({service.name: harness(private_bus.service(service), private_bus.settings,
                                           make_pg_database(service.name), **_own(service))
                     for service in (JOBS, CONTRACTS, PAYMENTS)})


@pytest.fixture(params=["embedded", "live"])
def hourly_market(request) -> HourlyMarket:
    return request.getfixturevalue(f"hourly_{request.param}")


class TestHourlyWeek:
    def test_a_week_over_the_limit_is_billed_at_the_limit_and_paid_to_the_freelancer(self, hourly_market):
        market = hourly_market
        market.deposit(20_000)
        job, proposal, contract_id = market.hourly_contract(rate=5_000, limit=2)
        contract = market.contract(contract_id)
        assert (contract["type"], contract["hourly_rate"], contract["weekly_limit_hours"]) == ("hourly", 5_000, 2)
        assert contract["milestones"] == [] and contract["pause_reasons"] == []
        market.wait_proposal(job, proposal, "hired")

        period_start = market.log_week(contract_id, [60, 45, 30])
        entries = market.as_client("GET", f"/contracts/{contract_id}/time-entries?period_start={period_start}",
                                   expect=200)["items"]
        assert [(e["minutes"], e["billable_minutes"]) for e in entries] == [(60, 60), (45, 45), (30, 15)]

        reviewed = market.wait_invoice(contract_id, "in_review")
        assert (reviewed["total_minutes"], reviewed["billable_minutes"], reviewed["amount"],
                reviewed["client_fee"]) == (135, 120, 10_000, 500)
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (20_000 - 10_500, 10_000)

        released = market.wait_invoice(contract_id, "released")
        assert (released["freelancer_amount"], released["freelancer_fee"], released["refund_amount"]) == (10_000, 1_000, 0)
        assert market.contract(contract_id)["released_amount"] == 10_000
        eventually(lambda: market.balance(market.freelancer_id)["available"] == 9_000, 20)
        escrow = market.as_client("GET", f"/payments/escrow/{contract_id}", expect=200)
        assert escrow["invoices"] == [{"invoice_id": released["id"], "amount": 10_000, "status": "released"}]
        kinds = {t["kind"] for t in market.as_client("GET", "/payments/transactions", expect=200)["items"]}
        assert {"invoice_charge", "client_fee", "deposit"} <= kinds
        market.books_balance()

    def test_a_short_balance_pauses_the_contract_until_a_deposit_pays_the_invoice(self, hourly_market):
        market = hourly_market
        _, _, contract_id = market.hourly_contract(rate=6_000, limit=10)
        market.log_week(contract_id, [60])

        failed = market.wait_invoice(contract_id, "payment_failed")
        assert failed["last_error"] == "insufficient_funds"
        paused = market.wait_for(contract_id, "paused")
        assert paused["pause_reasons"] == ["payment_failed"]
        market.log(contract_id, 10, expect=409)

        market.deposit(6_300)
        market.wait_invoice(contract_id, "released")
        resumed = market.wait_for(contract_id, "active")
        assert resumed["pause_reasons"] == []
        assert market.balance(market.client_id)["available"] == 0
        market.books_balance()


class TestDisputedHours:
    def test_an_admin_splits_a_disputed_week_exactly_to_the_cent(self, disputable_embedded):
        market = disputable_embedded
        market.deposit(20_000)
        _, _, contract_id = market.hourly_contract(rate=6_001, limit=10)
        market.log_week(contract_id, [100])  # 6001 × 100 / 60 = 10001.67 → 10002
        invoice = market.wait_invoice(contract_id, "in_review")
        assert (invoice["amount"], invoice["client_fee"]) == (10_002, 500)
        disputed = market.as_client("POST", f"/contracts/{contract_id}/invoices/{invoice['id']}/dispute",
                                    {"reason": "Half of it was not done"}, expect=200)
        assert disputed["status"] == "disputed"
        market._call("POST", f"/contracts/{contract_id}/invoices/{invoice['id']}/resolve", market.admin_id,
                     ("admin",), {"freelancer_amount": 3_333, "refund_amount": 6_669}, expect=202)
        resolved = market.wait_invoice(contract_id, "resolved")
        assert (resolved["freelancer_amount"], resolved["freelancer_fee"], resolved["refund_amount"]) == (
            3_333, 333, 6_669)
        client = market.balance(market.client_id)
        assert (client["available"], client["in_escrow"]) == (20_000 - 10_002 - 500 + 6_669 + 500 - 167, 0)
        freelancer = market.balance(market.freelancer_id)
        assert freelancer["pending"] + freelancer["available"] == 3_000
        assert market.contract(contract_id)["released_amount"] == 3_333
        market.books_balance()
