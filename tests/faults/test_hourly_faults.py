"""An hourly week billed while the workers that move its money are SIGKILLed and restarted.

Several hourly contracts log time in one compressed period; its timesheets close with the payments
worker dead, so every charge request waits for it; contracts is killed too, and payments comes back
and dies again as soon as its first charges are on the bus. The review windows pass while payments is
down again: contracts comes back to a queue of charges, dies once it has recorded the first, and asks
for every release; payments dies at its first release, and contracts at the first release it records.
Afterwards each invoice was charged once and released once (one journal entry each, to the cent), the
freelancers hold minutes × rate less the fee, the books check clean, and each step is one event on the
bus, none lost, none doubled in effect.
"""
from __future__ import annotations

import pytest

from tests.faults.hourly import WEEK, HourlyDriver, InvoiceWatch, judge, plan
from tests.faults.test_faults import assert_clean
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres]

CONTRACTS = 4


class TestHourlyBillingUnderFaults:
    def test_workers_killed_around_the_charge_and_the_release(self, marketplace, tmp_path):
        suite, driver, bus = marketplace(env=WEEK)
        hourly = HourlyDriver(driver)
        stories = hourly.set_up_all(plan(CONTRACTS, seed=15))
        payments, contracts = suite.workers["payments"][0], suite.workers["contracts"][0]
        invoices = len(stories)

        def seen(type_: str) -> int:
            return sum(bus.count(type_, contract_id=story.contract_id) for story in stories)

        watch = InvoiceWatch(suite, stories)
        recorded = watch.count
        faults = []
        # The charge: every timesheet closes while nobody can take the money.
        suite.kill(payments)
        faults.append("SIGKILL payments-worker-1 before the period closes")
        hourly.log_all(stories)
        assert eventually(lambda: seen("contracts.invoice.charge_requested") == invoices, 60), (
            seen("contracts.invoice.charge_requested"))
        suite.kill(contracts)
        faults.append(f"SIGKILL contracts-worker-1 with {invoices} charge_requested waiting")
        suite.restart(payments, wait=False)
        eventually(lambda: seen("payments.invoice.charged") >= 1, 60, interval=0.02)
        suite.kill(payments)
        faults.append(f"SIGKILL payments-worker-1 again at {seen('payments.invoice.charged')}/{invoices} charged")
        suite.restart(payments)
        assert eventually(lambda: seen("payments.invoice.charged") == invoices, 60), seen("payments.invoice.charged")

        # The release: the review windows end while payments is down again.
        suite.kill(payments)
        faults.append("SIGKILL payments-worker-1 before the review windows end")
        suite.restart(contracts, wait=False)
        eventually(lambda: recorded("in_review", "releasing", "released") >= 1, 60, interval=0.01)
        suite.kill(contracts)
        faults.append(f"SIGKILL contracts-worker-1 at {recorded('in_review', 'releasing')}/{invoices} charges "
                      "recorded")
        suite.restart(contracts)
        assert eventually(lambda: seen("contracts.invoice.approved") == invoices, 60), (
            seen("contracts.invoice.approved"))
        suite.kill(contracts)
        faults.append(f"SIGKILL contracts-worker-1 with {invoices} approved waiting")
        suite.restart(payments, wait=False)
        eventually(lambda: seen("payments.invoice.released") >= 1, 60, interval=0.02)
        suite.kill(payments)
        faults.append(f"SIGKILL payments-worker-1 again at {seen('payments.invoice.released')}/{invoices} released")
        suite.restart(payments)
        assert eventually(lambda: seen("payments.invoice.released") == invoices, 60), (
            seen("payments.invoice.released"))
        suite.restart(contracts, wait=False)
        eventually(lambda: recorded("released") >= 1, 60, interval=0.01)
        suite.kill(contracts)
        faults.append(f"SIGKILL contracts-worker-1 again at {recorded('released')}/{invoices} releases recorded")
        suite.restart(contracts)
        watch.close()

        report = judge("hourly-charge-and-release-workers-killed", suite, hourly, bus, stories, faults=faults,
                       tmp_path=tmp_path)
        assert_clean(report)
        assert report.completed == invoices, report.text()
