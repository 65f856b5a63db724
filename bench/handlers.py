"""`python -m bench.handlers`: the messages worker's handling of one story's events, in process.

    python -m bench.handlers [--stories 200] [--profile out.prof]

The messages worker handles every event of a story (it tells the parties) and is the stack's busiest
worker under the saga load. This delivers the nine events of a hire-to-release story straight to its
consumer (inbox row, handler, commit; no broker) against a database of its own on `DATABASE_URL`'s
server, and prints each event's p50 with its statement count, and the mean time a whole story took.
Compare two commits by running it on each, taking turns (docs/benchmarks/README.md).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from services.messages import SERVICE
from services.messages.models import Notification
from services.messages.settings import MessagesSettings
from shared.config import Settings
from shared.db import Database, database_on_server, drop_database
from shared.events import OWNERS, Envelope
from shared.ids import new_id
from shared.tables import InboxRow
from tests.support import Harness

WARM_UP = 20


def story() -> list[tuple[str, dict]]:
    """A story's events as the messages worker receives them, hire to completion."""
    client, freelancer, job, proposal, contract, milestone = (new_id() for _ in range(6))
    parties = {"contract_id": contract, "job_id": job, "proposal_id": proposal, "client_id": client,
               "freelancer_id": freelancer}
    later = "2030-01-01T00:00:00Z"
    return [
        ("jobs.proposal.submitted", {"proposal_id": proposal, "job_id": job, "freelancer_id": freelancer,
                                     "amount": 10_000, "client_id": client, "job_title": "A logo"}),
        ("contracts.contract.created", {**parties, "client_fee_bps": 300, "freelancer_fee_bps": 1000,
                                        "total_amount": 10_000}),
        ("contracts.contract.offered", {**parties, "offer_expires_at": later}),
        ("contracts.contract.activated", parties),
        ("payments.escrow.funded", {"contract_id": contract, "milestone_id": milestone, "amount": 10_000,
                                    "client_fee": 300}),
        ("contracts.milestone.submitted", {"contract_id": contract, "milestone_id": milestone,
                                           "auto_approve_at": later}),
        ("contracts.milestone.approved", {"contract_id": contract, "milestone_id": milestone, "client_id": client,
                                          "freelancer_id": freelancer, "amount": 10_000,
                                          "freelancer_fee_bps": 1000, "auto": False}),
        ("payments.escrow.released", {"contract_id": contract, "milestone_id": milestone,
                                      "freelancer_id": freelancer, "amount": 10_000, "freelancer_fee": 1000,
                                      "available_at": later}),
        ("contracts.contract.completed", {"contract_id": contract, "job_id": job, "client_id": client,
                                          "freelancer_id": freelancer, "released_amount": 10_000}),
    ]


@dataclass
class Measured:
    timings: dict[str, list[float]]  # milliseconds per delivery, by event type
    statements: dict[str, list[int]]
    story_ms: float  # a whole story's mean
    handled: int  # inbox rows: deliveries handled, not retried
    notifications: int


def measure(database: Database, stories: int, *, warm_up: int = WARM_UP, profile: str | None = None) -> Measured:
    """Play `warm_up` stories, then time `stories` more, on the messages service over `database`."""
    statements = [0]
    sa.event.listen(database.engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
    timings: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, list[int]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as var:
        harness = Harness(SERVICE, Settings.from_env({"VAR_DIR": var}), database, service_settings=MessagesSettings())

        def play(count: int) -> None:
            for _ in range(count):
                for type_, data in story():
                    envelope = Envelope.new(type_, data, producer=OWNERS[type_], correlation_id=new_id())
                    statements[0], began = 0, time.perf_counter()
                    harness.deliver(envelope)
                    timings[type_].append((time.perf_counter() - began) * 1000)
                    counts[type_].append(statements[0])

        try:
            play(warm_up)
            timings.clear()
            counts.clear()
            profiler = cProfile.Profile() if profile else None
            began = time.perf_counter()
            if profiler:
                profiler.enable()
            play(stories)
            if profiler:
                profiler.disable()
                profiler.dump_stats(profile)
            story_ms = (time.perf_counter() - began) * 1000 / stories
            with database.transaction() as session:
                handled = session.scalar(sa.select(sa.func.count()).select_from(InboxRow))
                notifications = session.scalar(sa.select(sa.func.count()).select_from(Notification))
        finally:
            harness.stop()
    return Measured(dict(timings), dict(counts), story_ms, handled or 0, notifications or 0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.handlers", description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=200)
    parser.add_argument("--profile", help="Write cProfile's stats of the timed stories to this file.")
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"bench_handlers_{new_id()[:8]}"
    try:
        measured = measure(Database(database_on_server(server, name)), args.stories, profile=args.profile)
    finally:
        drop_database(server, name)
    for type_, taken in measured.timings.items():
        print(f"{type_:32} p50 {statistics.median(taken):6.2f} ms  "
              f"{statistics.median(measured.statements[type_]):4.0f} statements")
    print(f"a story's {len(measured.timings)} events: {measured.story_ms:.1f} ms on average over {args.stories} stories")


if __name__ == "__main__":
    main()
