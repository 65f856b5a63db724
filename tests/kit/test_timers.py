"""Durable timers: each fires once however many workers poll, a failure is retried later, a key is one timer."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from shared.db import utcnow
from shared.timers import TimerLoop
from tests.kit.helpers import effect_counts, record_effect, timers
from tests.support import eventually

REMINDER = "kit.reminder"


def schedule(runtime, kind: str, keys, due_at=None, payload=None) -> None:
    with runtime.unit_of_work() as uow:
        for key in keys:
            uow.schedule(kind, key, due_at or utcnow() - timedelta(seconds=1), payload)


class TestTimersWithTwoWorkers:
    @pytest.mark.postgres
    def test_each_due_timer_fires_once_when_two_workers_race(self, pg_kit):
        calls, lock = Counter(), threading.Lock()

        def remind(timer, uow):
            with lock:
                calls[timer.key] += 1
            record_effect(uow, timer.key)
            time.sleep(0.005)  # long enough for the other worker to reach for the same rows

        service = pg_kit.service(timers={REMINDER: remind})
        first = pg_kit.runtime(service)
        second = pg_kit.restarted(first)  # a second process of the service, on the same database
        keys = [f"contract-{n}" for n in range(40)]
        schedule(first, REMINDER, keys)
        loops = [TimerLoop(first, dict(service.timers)), TimerLoop(second, dict(service.timers))]
        assert [loop.due_count() for loop in loops] == [40, 40]  # also opens each one's connection
        fired, start = [0, 0], threading.Barrier(2)

        def poll(index: int) -> None:
            start.wait()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                fired[index] += loops[index].fire_due()
                if loops[index].due_count() == 0:
                    return

        threads = [threading.Thread(target=poll, args=(index,)) for index in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        assert calls == {key: 1 for key in keys}
        assert effect_counts(first.db) == {key: 1 for key in keys}
        assert sum(fired) == 40 and all(fired), f"each worker should have fired some: {fired}"
        assert timers(first.db) == []


class TestTimerFailures:
    def test_a_failed_timer_is_retried_later_with_backoff(self, db_kit):
        attempts = []

        def flaky(timer, uow):
            attempts.append(utcnow())
            record_effect(uow, timer.key)  # undone with the failure
            if len(attempts) == 1:
                raise ConnectionError("the mail server is down")

        service = db_kit.service(timers={REMINDER: flaky})
        runtime = db_kit.runtime(service)
        loop = TimerLoop(runtime, dict(service.timers))
        schedule(runtime, REMINDER, ["contract-1"])

        assert loop.fire_due() == 1
        [row] = timers(runtime.db)
        assert row.attempts == 1
        assert "the mail server is down" in row.last_error
        assert timedelta(seconds=0.9) < row.due_at - attempts[0] < timedelta(seconds=1.5)
        assert effect_counts(runtime.db) == {}

        eventually(lambda: loop.fire_due(), timeout=5, message="the retry")

        assert len(attempts) == 2
        assert attempts[1] - attempts[0] >= timedelta(seconds=0.9)
        assert effect_counts(runtime.db) == {"contract-1": 1}
        assert timers(runtime.db) == []

    def test_a_timer_with_no_handler_is_dropped(self, db_kit):
        service = db_kit.service()
        runtime = db_kit.runtime(service)
        schedule(runtime, "kit.nobody", ["x"])

        assert TimerLoop(runtime, {}).fire_due() == 1
        assert timers(runtime.db) == []


class TestRescheduling:
    def test_rescheduling_the_same_kind_and_key_moves_the_timer(self, db_kit):
        seen = []
        service = db_kit.service(timers={REMINDER: lambda timer, uow: seen.append(timer.payload)})
        runtime = db_kit.runtime(service)
        loop = TimerLoop(runtime, dict(service.timers))
        schedule(runtime, REMINDER, ["contract-1"], due_at=utcnow() + timedelta(hours=1), payload={"version": 1})

        assert loop.fire_due() == 0
        schedule(runtime, REMINDER, ["contract-1"], payload={"version": 2})  # moved to now

        [row] = timers(runtime.db)
        assert (row.kind, row.key, row.payload) == (REMINDER, "contract-1", {"version": 2})
        assert row.due_at <= utcnow()
        assert loop.fire_due() == 1
        assert loop.fire_due() == 0
        assert seen == [{"version": 2}]

    def test_rescheduling_a_failed_timer_starts_its_attempts_afresh(self, db_kit):
        def fails(timer, uow):
            raise RuntimeError("not yet")

        service = db_kit.service(timers={REMINDER: fails})
        runtime = db_kit.runtime(service)
        schedule(runtime, REMINDER, ["contract-1"])
        TimerLoop(runtime, dict(service.timers)).fire_due()
        assert [row.attempts for row in timers(runtime.db)] == [1]

        later = utcnow() + timedelta(days=1)
        schedule(runtime, REMINDER, ["contract-1"], due_at=later)

        [row] = timers(runtime.db)
        assert (row.attempts, row.due_at) == (0, later)

    def test_a_cancelled_timer_does_not_fire(self, db_kit):
        seen = []
        service = db_kit.service(timers={REMINDER: lambda timer, uow: seen.append(timer.key)})
        runtime = db_kit.runtime(service)
        schedule(runtime, REMINDER, ["contract-1", "contract-2"])

        with runtime.unit_of_work() as uow:
            uow.cancel_timer(REMINDER, "contract-1")

        assert TimerLoop(runtime, dict(service.timers)).fire_due() == 1
        assert seen == ["contract-2"]
