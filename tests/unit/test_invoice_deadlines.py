"""An hourly invoice's deadlines step by step: each request to payments notes when it went out and how
often it was sent again; past its first deadline the invoice is a stuck saga, as a milestone is, and one
waiting for the client or an admin is not."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts import SERVICE, billing, sagas
from services.contracts.hourly import period
from services.contracts.hourly_models import Invoice, TimeEntry
from services.contracts.models import Contract
from services.contracts.stuck import stuck_sagas
from shared.db import utcnow
from tests.unit.conftest import SETTINGS
from tests.unit.fakes import new_id

SETTING = SETTINGS["contracts"]


@pytest.fixture
def uow(make_uow):
    return make_uow(SERVICE)


def hourly(uow) -> Contract:
    contract = sagas.create_contract(uow, {
        "contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(), "client_id": new_id(),
        "freelancer_id": new_id(), "title": "Keep the servers patched", "milestones": [], "type": "hourly",
        "hourly_rate": 6_000, "weekly_limit_hours": 10})
    sagas.accept(uow, contract)
    return contract


def invoiced(uow, contract: Contract, periods_ago: int) -> Invoice:
    """The invoice of a period whose edit window is over: its entries are final, its charge asked for."""
    start = period(uow, utcnow() - SETTING.billing_period * periods_ago).start
    uow.session.add(TimeEntry(id=new_id(), contract_id=contract.id, period_start=start, date=start.date(),
                              minutes=90, memo="Patched hosts"))
    uow.session.flush()
    invoice = billing.close_timesheet(uow, contract, start)
    assert invoice is not None and invoice.status == "pending_payment"
    return invoice


def in_each_state(uow) -> dict[str, Invoice]:
    """One invoice in each state of the billing saga that is not an end."""
    contract = hourly(uow)
    found = {state: invoiced(uow, contract, ago) for ago, state in enumerate(
        ("pending_payment", "payment_failed", "in_review", "releasing", "disputed", "resolving"), start=2)}
    billing.record_charge_failure(uow, contract, found["payment_failed"], "insufficient_funds")
    for state in ("in_review", "disputed", "resolving"):
        billing.record_charge(uow, contract, found[state], utcnow())
    billing.record_charge(uow, contract, found["releasing"], utcnow() - SETTING.invoice_review_window)
    billing.end_review(uow, contract, found["releasing"])
    for state in ("disputed", "resolving"):
        billing.dispute(uow, contract, found[state], "Too many hours")
    billing.resolve(uow, contract, found["resolving"], freelancer_amount=4_000, refund_amount=5_000, note=None)
    uow.session.flush()
    assert {state: invoice.status for state, invoice in found.items()} == {state: state for state in found}
    return found


class TestEachRequestNotesItsDeadline:
    def test_each_step_waiting_for_payments_counts_from_its_own_request(self, uow):
        found = in_each_state(uow)

        for state in ("pending_payment", "releasing", "resolving"):
            assert found[state].requested_at is not None and found[state].resends == 0, state
        assert found["releasing"].requested_at > found["releasing"].created_at
        assert uow.timer(billing.RESEND_REQUEST, found["resolving"].id).payload["status"] == "resolving"

    def test_a_re_send_counts_one_more_attempt_and_keeps_when_the_step_began(self, uow):
        invoice = in_each_state(uow)["pending_payment"]
        began = invoice.requested_at

        uow.fire(billing.RESEND_REQUEST, invoice.id, SERVICE.timers)
        uow.fire(billing.RESEND_REQUEST, invoice.id, SERVICE.timers)

        assert (invoice.requested_at, invoice.resends) == (began, 2)
        assert uow.types().count("contracts.invoice.charge_requested") >= 3


class TestStuckInvoices:
    def test_only_invoices_waiting_for_payments_past_their_first_deadline_are_stuck(self, uow):
        found = in_each_state(uow)
        soon = utcnow() + SETTING.saga_resend_after / 2
        later = utcnow() + SETTING.saga_resend_after * 2

        assert stuck_sagas(uow.session, SETTING, now=soon) == []
        stuck = stuck_sagas(uow.session, SETTING, now=later)

        assert sorted((saga.kind, saga.state) for saga in stuck) == [
            ("invoice", "pending_payment"), ("invoice", "releasing"), ("invoice", "resolving")]
        by_state = {saga.state: saga for saga in stuck}
        for state, request in billing.REQUESTS.items():
            saga = by_state[state]
            assert saga.id == found[state].id and saga.since == found[state].requested_at
            assert request in saga.why and found[state].contract_id in saga.why
            assert saga.attempts == 0
            assert saga.next_attempt_at == saga.since + SETTING.saga_resend_after

    def test_a_re_sent_charge_is_listed_with_its_attempts_and_its_next_deadline(self, uow):
        invoice = in_each_state(uow)["pending_payment"]
        uow.fire(billing.RESEND_REQUEST, invoice.id, SERVICE.timers)
        later = utcnow() + SETTING.saga_resend_after * 4

        saga = next(saga for saga in stuck_sagas(uow.session, SETTING, now=later) if saga.id == invoice.id)

        assert (saga.state, saga.attempts) == ("pending_payment", 1)
        assert saga.next_attempt_at == invoice.requested_at + SETTING.saga_resend_after * 3

    def test_an_answered_invoice_is_no_longer_stuck(self, uow):
        found = in_each_state(uow)
        contract = uow.session.get(Contract, found["pending_payment"].contract_id)
        billing.record_charge(uow, contract, found["pending_payment"], utcnow())
        billing.record_release(uow, contract, found["releasing"], {"freelancer_fee": 900,
                                                                   "available_at": utcnow() + timedelta(days=5)})
        uow.session.flush()

        later = utcnow() + SETTING.saga_resend_after * 2
        assert [saga.state for saga in stuck_sagas(uow.session, SETTING, now=later)] == ["resolving"]
