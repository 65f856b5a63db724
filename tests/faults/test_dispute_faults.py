"""Disputed milestones split while the workers that move their money are SIGKILLed and restarted.

Several contracts' milestones are disputed and brought one move short of their split (the freelancer's
accept of an agreed proposal, an admin's decision in arbitration), then every split is fired at once
with the payments worker dead, the contracts worker is killed too, and each is killed again in the
middle of its share of the work: payments while it posts splits and answers `escrow.split`, contracts
while it records them. Afterwards each escrow is split exactly once, in one journal entry, to the cent
for the freelancer, the client and the platform; the books check clean; every milestone is `split`,
every contract `completed`; each step is one event on the bus, none lost, none doubled in effect.
"""
from __future__ import annotations

import pytest

from tests.faults.disputes import DisputeDriver, judge, plan
from tests.faults.test_faults import assert_clean
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres]

CONTRACTS, MILESTONES = 3, 3


class TestDisputesUnderFaults:
    def test_workers_killed_around_the_split(self, marketplace, tmp_path):
        suite, driver, bus = marketplace()
        disputes = DisputeDriver(driver)
        stories = disputes.set_up_all(plan(CONTRACTS, MILESTONES, seed=16))
        milestones = [claim.milestone_id for story in stories for claim in story.claims]

        def seen(type_: str) -> int:
            return sum(bus.count(type_, milestone_id=milestone) for milestone in milestones)

        payments, contracts = suite.workers["payments"][0], suite.workers["contracts"][0]
        faults = []
        # Every split is asked for while nobody can answer it: the requests wait in payments' queue.
        suite.kill(payments)
        faults.append("SIGKILL payments-worker-1 before the splits are decided")
        disputes.fire_all(stories)
        assert eventually(lambda: seen("contracts.milestone.split_requested") == len(milestones), 30), (
            seen("contracts.milestone.split_requested"))
        suite.kill(contracts)
        faults.append(f"SIGKILL contracts-worker-1 with {len(milestones)} split_requested waiting")
        # payments comes back and dies again as soon as its first answers are on the bus.
        suite.restart(payments, wait=False)
        eventually(lambda: seen("payments.escrow.split") >= 1, 60, interval=0.02)
        suite.kill(payments)
        faults.append(f"SIGKILL payments-worker-1 again at {seen('payments.escrow.split')}/{len(milestones)} "
                      "escrow.split")
        suite.restart(payments)
        assert eventually(lambda: seen("payments.escrow.split") == len(milestones), 60), seen("payments.escrow.split")
        # contracts comes back to a queue of answers and dies once it has recorded the first of them.
        suite.restart(contracts, wait=False)

        def recorded() -> int:
            return sum(m["status"] == "split" for story in stories for m in disputes.contract(story)["milestones"])

        eventually(lambda: recorded() >= 1, 60, interval=0.05)
        suite.kill(contracts)
        faults.append(f"SIGKILL contracts-worker-1 again at {recorded()}/{len(milestones)} milestones recorded")
        suite.restart(contracts)
        report = judge("disputes-split-workers-killed", suite, disputes, bus, stories, faults=faults,
                       tmp_path=tmp_path)
        assert_clean(report)
        assert report.completed == len(milestones), report.text()
