"""Hire-to-payout stories under faults: crashes, broker and database outages, duplicates, several workers, poison.

Each scenario ends with every saga in exactly one terminal state, balances equal to the model, a clean
ledger check, one event per saga step on the bus, and nothing in dead letters that should not be.
"""
from __future__ import annotations

import random
import threading
import time

import pytest
import requests

from marketplace import registry
from marketplace.registry import NAMES as SERVICES
from shared.ids import new_id
from tests.faults.stories import BANK, plan
from tests.faults.verdict import judge
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres]

STORIES = 6


def settle(threads, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))


def assert_clean(report) -> None:
    assert report.stuck == 0, report.text()
    assert not report.problems, report.text()


def consumed_copies(bus) -> int:
    """How many deliveries of a copy the services' queues got: one per consuming service of each event."""
    consumers = [found.handlers for found in registry.available().values()]
    return sum(sum(event["type"] in handlers for handlers in consumers) for event in bus.events.values())


def set_up(driver, stories):
    for story in stories:
        driver.set_up(story)
    return stories


class TestUnderFaults:
    def test_workers_killed_and_restarted_at_random_points(self, marketplace, tmp_path):
        suite, driver, bus = marketplace()
        stories = set_up(driver, plan(STORIES, seed=1))
        rng, faults = random.Random(11), []
        threads = driver.play_all(stories)
        for _ in range(2):
            for service in rng.sample(SERVICES, len(SERVICES)):
                time.sleep(rng.uniform(0.2, 1.2))
                worker = suite.workers[service][0]
                suite.kill(worker)
                time.sleep(rng.uniform(0, 1.0))
                suite.restart(worker, wait=False)
                faults.append(f"SIGKILL {worker.label}")
            api = suite.apis[rng.choice(("jobs", "contracts", "payments"))]
            suite.restart(api)
            faults.append(f"SIGKILL {api.label}")
        settle(threads)
        assert_clean(judge("workers-killed", suite, driver, bus, stories, faults=faults, tmp_path=tmp_path))

    def test_broker_restarted_in_the_middle_of_load(self, marketplace, tmp_path):
        suite, driver, bus = marketplace()
        stories = set_up(driver, plan(STORIES, seed=2))
        threads = driver.play_all(stories)
        faults = []
        for outage in (3, 2):
            time.sleep(1.5)
            suite.broker_proxy.outage(outage)
            faults.append(f"broker down {outage}s (every connection dropped, new ones refused)")
        time.sleep(1)
        suite.broker_proxy.freeze()
        time.sleep(3)
        suite.broker_proxy.thaw()
        faults.append("broker paused 3s (connections open, nothing flows)")
        settle(threads)
        assert_clean(judge("broker-restarted", suite, driver, bus, stories, faults=faults, tmp_path=tmp_path))

    def test_every_event_delivered_twice(self, marketplace, tmp_path):
        suite, driver, bus = marketplace(duplicate=True)
        stories = set_up(driver, plan(STORIES, seed=3))
        settle(driver.play_all(stories))
        report = judge("every-event-twice", suite, driver, bus, stories, faults=["every event published twice"],
                       tmp_path=tmp_path)
        assert_clean(report)
        # Each copy of an event a service consumes is dropped by that service's inbox, exactly once.
        assert report.duplicates_delivered == report.events_seen > 0, report.text()
        assert report.duplicates_suppressed == consumed_copies(bus), report.text()

    def test_three_payments_and_three_contracts_workers_share_their_queues(self, marketplace, tmp_path):
        suite, driver, bus = marketplace(workers={"payments": 3, "contracts": 3})
        stories = set_up(driver, plan(STORIES, seed=4))
        settle(driver.play_all(stories, stagger=0.05))
        assert_clean(judge("competing-workers", suite, driver, bus, stories,
                           faults=["3 payments workers", "3 contracts workers"], tmp_path=tmp_path))

    def test_a_database_briefly_unavailable_to_one_service(self, marketplace, tmp_path):
        suite, driver, bus = marketplace()
        stories = set_up(driver, plan(STORIES, seed=6))
        threads = driver.play_all(stories)
        faults = []
        # Each outage outlasts the retry tiers (0.5s + 1s + 2s): an event must not die of it.
        for service, outage in (("payments", 6), ("contracts", 5)):
            time.sleep(0.5)
            suite.db_proxies[service].outage(outage)
            faults.append(f"{service} database down {outage}s")
        settle(threads)
        assert_clean(judge("database-outage", suite, driver, bus, stories, faults=faults, tmp_path=tmp_path))

    def test_a_poison_event_parks_in_dead_letters_and_completes_when_replayed_after_the_fix(self, marketplace, tmp_path):
        suite, driver, bus = marketplace()
        poisoned, *stories = set_up(driver, plan(STORIES + 1, seed=5, kinds=("pay", "pay", "decline", "pay", "poor")))
        # The poison: an operator's mistake takes the payments role's UPDATE right on `payouts`, so the
        # handler of one payout request fails on every try, for a reason that is fixed later.
        first = driver.play_all([poisoned], before_payout=(gate := threading.Event()))
        assert eventually(lambda: "available" in poisoned.steps or poisoned.outcome == "stuck", 90), poisoned
        suite.sql(f"REVOKE UPDATE ON payouts FROM {suite.role}", database="payments")
        gate.set()
        letters = suite.dead_letters("payments")
        parked = eventually(lambda: letters.list(), 60, interval=0.5)
        assert [letter.type for letter in parked] == ["payments.payout.requested"], parked
        assert parked[0].retries == 3 and "permission denied" in parked[0].error, parked[0]
        # The rest of the load goes on while it is parked: hire, fund, deliver, release, refund.
        released = threading.Event()
        load = driver.play_all(stories, before_payout=released)
        eventually(lambda: all(s.outcome in ("compensated", "stuck") or "available" in s.steps for s in stories), 120,
                   interval=0.5)
        assert [letter.message_id for letter in letters.list()] == [parked[0].message_id]
        suite.sql(f"GRANT UPDATE ON payouts TO {suite.role}", database="payments")
        replayed = suite.cli("dlq", "replay", "payments", parked[0].message_id, direct=True)
        assert "replayed 1" in replayed.stdout, replayed.stdout
        released.set()
        settle(first + load)
        report = judge("poison-replayed", suite, driver, bus, [poisoned, *stories], tmp_path=tmp_path,
                       faults=["UPDATE on payments.payouts revoked, one payout parked, granted again, replayed"])
        assert_clean(report)
        assert report.dead_lettered == 1, report.text()

    def test_an_api_killed_between_its_commit_and_its_answer_does_not_do_it_twice(self, marketplace, tmp_path):
        suite, driver, bus = marketplace()
        story, = set_up(driver, plan(1, seed=7, kinds=("pay",)))
        threads = driver.play_all([story], before_payout=(gate := threading.Event()))
        eventually(lambda: "available" in story.steps or story.outcome == "stuck", 90, interval=0.3)
        assert story.outcome != "stuck", story.error
        net = story.amount - story.freelancer_fee
        body, key = {"amount": net // 2, "destination": BANK}, new_id()
        headers = {"Authorization": f"Bearer {story.freelancer.token}", "Idempotency-Key": key}
        # The broker hangs, so the request commits its payout and then waits for its event's confirm...
        suite.broker_proxy.freeze()
        hung = threading.Thread(target=_ignore, args=(requests.post, f"{suite.url('payments')}/payments/payouts"),
                                kwargs={"json": body, "headers": headers, "timeout": 60}, daemon=True)
        hung.start()
        eventually(lambda: driver.balance(story.freelancer)["in_payout"] == net // 2, 20, interval=0.2)
        # ...when its process dies: the payout is made, its answer never sent.
        suite.kill(suite.apis["payments"])
        suite.broker_proxy.thaw()
        suite.restart(suite.apis["payments"])
        # The client does what it should: the same request again, with the same key.
        again = driver.http("POST", "/payments/payouts", story.freelancer.token, expect=(202,), key=key, json=body,
                            done=lambda: True)
        story.withdrawn = net // 2
        eventually(lambda: driver.balance(story.freelancer)["in_payout"] == 0, 30, interval=0.3)
        balance = driver.balance(story.freelancer)
        assert balance["available"] == net - net // 2, (balance, again)
        assert bus.count("payments.payout.requested", user_id=story.freelancer.id) == 1, again
        gate.set()
        settle(threads)
        assert_clean(judge("api-killed-after-commit", suite, driver, bus, [story], tmp_path=tmp_path,
                           faults=["broker paused", "SIGKILL payments-api between a payout's commit and its answer"]))


def _ignore(call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the process answering it is killed on purpose
        pass
