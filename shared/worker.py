"""The worker of one service: its consumer, outbox relay sweep and timers, each in a thread."""
from __future__ import annotations

import logging
import signal
import threading
from typing import Callable

from shared.config import Settings
from shared.consumer import Consumer
from shared.http.idempotency import KEPT_FOR
from shared.parked import ParkedMessages
from shared.prune import Retention, prune_all
from shared.runtime import Runtime
from shared.service import Service
from shared.tables import IdempotencyRow, InboxRow, OutboxRow
from shared.timers import TimerLoop

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.stopping = threading.Event()
        self.consuming = threading.Event()
        self.consumer = Consumer(runtime)
        # Where a bus without a broker keeps this service's retries and dead letters: its own database.
        self.parked = ParkedMessages(runtime.db, poll=runtime.settings.timer_poll)
        self.timers = TimerLoop(runtime, dict(runtime.service.timers))
        self._threads: list[threading.Thread] = []

    def declare(self) -> None:
        self.runtime.bus.declare(self.runtime.service.name, self.consumer.routing_keys)

    def start(self) -> "Worker":
        name = self.runtime.service.name
        self.stopping.clear()
        self.declare()
        loops: list[tuple[str, Callable[[], None]]] = [
            ("relay", lambda: self._every(self.runtime.settings.outbox_sweep.total_seconds(), self._sweep)),
            ("timers", lambda: self._every(self.runtime.settings.timer_poll.total_seconds(), self.timers.fire_due)),
            ("prune", lambda: self._every(self.runtime.settings.prune_every.total_seconds(), self.prune)),
        ]
        if self.consumer.handlers:
            loops.append(("consumer", self._consume))
        else:
            self.consuming.set()
        for make in self.runtime.service.background:
            loops.append((make.__name__, make(self)))
        for label, target in loops:
            thread = threading.Thread(target=target, name=f"{name}-{label}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def dead_loops(self) -> list[str]:
        """The loops of a started worker that have stopped (none while it is healthy)."""
        return [thread.name for thread in self._threads if not thread.is_alive()]

    def _consume(self) -> None:
        self.runtime.bus.consume(self.runtime.service.name, self.consumer.routing_keys, self.consumer.process,
                                 self.stopping, self.consuming, parked=self.parked, batch=self.consumer.process_batch,
                                 batch_size=self.runtime.settings.consumer_batch)

    def _sweep(self) -> None:
        while self.runtime.relay.sweep():
            pass
        self.runtime.refresh_gauges()

    def retention(self) -> list[Retention]:
        """What this worker prunes: the kit's tables after their retention, then the service's own rules."""
        settings = self.runtime.settings
        rules = [
            Retention("outbox", OutboxRow.id, OutboxRow.sent_at, settings.outbox_retention,
                      (OutboxRow.sent_at.is_not(None),)),
            Retention("inbox", InboxRow.event_id, InboxRow.handled_at, settings.inbox_retention),
            # Keys older than KEPT_FOR are never replayed again.
            Retention("idempotency_keys", IdempotencyRow.scope, IdempotencyRow.created_at, KEPT_FOR),
        ]
        if self.runtime.service.retention is not None:
            rules += list(self.runtime.service.retention(self.runtime.service_settings))
        return rules

    def prune(self) -> dict[str, int]:
        """Delete what is past its retention, in bounded batches; how many rows went, by rule."""
        counts = prune_all(self.runtime.db, self.retention(), self.runtime.settings.prune_batch)
        if any(counts.values()):
            log.info("%s pruned %s", self.runtime.service.name,
                     ", ".join(f"{count} {name}" for name, count in counts.items() if count))
        return counts

    def _every(self, seconds: float, action: Callable[[], object]) -> None:
        while not self.stopping.is_set():
            try:
                action()
            except Exception:  # noqa: BLE001 - a loop of the worker must outlive one bad round
                log.exception("%s worker loop failed; continuing", self.runtime.service.name)
            self.stopping.wait(seconds)

    def stop(self, timeout: float = 10) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then stop cleanly."""
        done = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: done.set())
        self.start()
        log.info("%s worker started", self.runtime.service.name)
        while not done.wait(1):
            if self.dead_loops():
                raise SystemExit(f"{self.runtime.service.name} worker: a loop died ({', '.join(self.dead_loops())})")
        self.stop()
        self.runtime.close()


def build_worker(service: Service, config: Settings | None = None, *, bus=None, migrate: bool = False) -> Worker:
    runtime = Runtime(service, config or Settings.from_env(), bus=bus)
    if migrate:
        runtime.migrate()
    return Worker(runtime)
