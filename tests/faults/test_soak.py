"""The long run (`make soak`): many stories under every fault at once, at random, until the load has settled."""
from __future__ import annotations

import os
import random
import threading
import time

import pytest

from marketplace.registry import NAMES as SERVICES
from tests.faults.stories import plan
from tests.faults.test_faults import assert_clean, set_up, settle
from tests.faults.verdict import judge

pytestmark = [pytest.mark.soak, pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres, pytest.mark.timeout(3600)]


def chaos(suite, rng: random.Random, stop: threading.Event, faults: list[str]) -> None:
    """One fault every few seconds: a crashed worker or API, the broker gone or hung, a database gone."""
    while not stop.wait(rng.uniform(1.5, 4)):
        roll = rng.random()
        if roll < 0.45:
            service = rng.choice(SERVICES)
            worker = rng.choice(suite.workers[service])
            suite.kill(worker)
            stop.wait(rng.uniform(0, 1.5))
            suite.restart(worker, wait=False)
            faults.append(f"SIGKILL {worker.label}")
        elif roll < 0.6:
            api = suite.apis[rng.choice(SERVICES)]
            suite.restart(api, wait=False)
            faults.append(f"SIGKILL {api.label}")
        elif roll < 0.75:
            seconds = rng.uniform(1, 5)
            suite.broker_proxy.outage(seconds)
            faults.append(f"broker down {seconds:.1f}s")
        elif roll < 0.85:
            seconds = rng.uniform(1, 4)
            suite.broker_proxy.freeze()
            stop.wait(seconds)
            suite.broker_proxy.thaw()
            faults.append(f"broker paused {seconds:.1f}s")
        else:
            service, seconds = rng.choice(SERVICES), rng.uniform(1, 8)
            suite.db_proxies[service].outage(seconds)
            faults.append(f"{service} database down {seconds:.1f}s")


class TestSoak:
    def test_many_stories_under_every_fault_at_once(self, marketplace, tmp_path):
        seconds = float(os.environ.get("SOAK_SECONDS", "600"))
        batch = int(os.environ.get("SOAK_BATCH", "8"))
        seed = int(os.environ.get("SOAK_SEED", str(int(time.time()))))
        print(f"\nsoak: {seconds:.0f}s of load in batches of {batch}, seed {seed} (SOAK_SEED={seed} replays the plan)")
        suite, driver, bus = marketplace(workers={"payments": 3, "contracts": 3}, duplicate=True)
        stop, faults, stories, threads = threading.Event(), [], [], []
        monkey = threading.Thread(target=chaos, args=(suite, random.Random(seed), stop, faults), daemon=True)
        monkey.start()
        deadline, round_ = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            # New clients and freelancers sign up, deposit, post and propose under the faults too.
            wave = plan(batch, seed=seed + round_)
            for story in wave:
                story.number += len(stories)
            stories += set_up(driver, wave)
            threads += driver.play_all(wave, stagger=0.3)
            round_ += 1
        settle(threads, timeout=900)
        stop.set()
        monkey.join(60)
        suite.wait_ready()
        assert_clean(judge("soak", suite, driver, bus, stories, faults=faults, tmp_path=tmp_path))
