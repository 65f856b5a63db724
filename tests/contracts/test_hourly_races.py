"""Hourly races on RabbitMQ and PostgreSQL, each decided under the contract's row lock by the clock: an
edit at the very edit deadline and the timesheet's close, the close and the contract's end, two workers
firing the same period's timer."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from services.contracts import billing, hourly
from shared.timers import Timer
import pytest

from tests.contracts.hourly import SHORT, hourly_active


@pytest.fixture
def contracts_live_hourly(make_contracts_live):
    return make_contracts_live(**SHORT)


def seconds_until(stamp: str) -> float:
    return (datetime.fromisoformat(stamp.replace("Z", "+00:00")) - datetime.now(timezone.utc)).total_seconds()


def until_just_before(stamp: str, margin: float = 0.15) -> None:
    time.sleep(max(0.0, seconds_until(stamp) - margin))


class TestTheEditDeadline:
    def test_edits_up_to_the_deadline_are_billed_and_none_after(self, contracts_live_hourly):
        deal = hourly_active(contracts_live_hourly, limit=40)
        entry = deal.log(10).get_json()

        last_saved, minutes = 10, 10
        while minutes < 1_000:  # edit as fast as possible up to and across the deadline; the first refusal ends it
            minutes += 1
            response = deal.entry(entry["id"], "PATCH", {"minutes": minutes})
            if response.status_code != 200:
                assert response.status_code == 409, response.get_json()
                break
            last_saved = minutes
        assert minutes > 11, "the deadline passed before the first edit; no race was run"

        invoice = deal.wait_invoice("pending_payment")
        assert invoice["total_minutes"] == last_saved
        assert len(deal.emitted("contracts.invoice.charge_requested")) == 1


class TestTheCloseAndTheEnd:
    def test_a_cancel_at_the_close_still_bills_the_period_once_and_then_ends(self, contracts_live_hourly):
        deal = hourly_active(contracts_live_hourly, rate=6_000)
        entry = deal.log(30).get_json()
        until_just_before(deal.read(f"timesheets/{entry['period_start']}").get_json()["edit_until"], 0.02)
        assert deal.post("cancel", deal.client).status_code == 202

        invoice = deal.wait_invoice("pending_payment")
        assert deal.contract()["status"] == "cancelling"
        deal.charged(invoice)
        deal.wait_invoice("releasing")
        deal.released(invoice)
        cancelled = deal.wait_for("cancelled")
        assert cancelled["released_amount"] == 3_000
        assert len(deal.invoices()) == 1


class TestTwoWorkers:
    def test_the_same_periods_timer_fired_twice_at_once_makes_one_invoice(self, contracts_live_hourly):
        desk = contracts_live_hourly
        deal = hourly_active(desk, rate=6_000)
        entry = deal.log(30).get_json()
        sheet = deal.read(f"timesheets/{entry['period_start']}").get_json()
        timer = Timer(hourly.CLOSE_TIMESHEET, f"{deal.id}:{entry['period_start']}", datetime.now(timezone.utc),
                      {"contract_id": deal.id, "period_start": datetime.fromisoformat(
                          entry["period_start"].replace("Z", "+00:00")).isoformat()})
        until_just_before(sheet["edit_until"], 0.0)
        barrier = threading.Barrier(3)

        def fire():
            barrier.wait()
            with desk.harness.runtime.unit_of_work() as uow:
                billing.timesheet_due(timer, uow)

        threads = [threading.Thread(target=fire) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deal.wait_invoice("pending_payment")
        time.sleep(0.5)  # the worker's own timer fires too, right at edit_until
        assert len(deal.invoices()) == 1
        assert len(deal.emitted("contracts.invoice.charge_requested")) == 1
