"""The saga benchmark: complete hire-to-release stories per second, and the time from `approve` to `released`.

N clients each hire their own freelancer over and over through the HTTP API (bench/client/stories.py, an asyncio
load generator in the bench's own environment), against the real topology, one worker per service unless said:
- one story at a time: one client plays many stories one after another, for approve→released with nothing else
  in flight but the tails of the stories before (a contract completing, a payout waiting out its hold);
- approve→released against the stories in parallel: 1, 2, 4, 6 and 8 clients;
- throughput against concurrency: 1, 4 and 16 clients;
- scaling: 16 clients with 1 and 2 workers per service.
Sign-up, deposits and logins happen before any of it. Between points the sagas settle (no unsent outbox row, no
timer about to fire, no delivery still being handled), so a point never pays for the last one.

What one story costs is counted around a point, not assumed: events published (outbox rows), deliveries handled
(inbox rows), timers fired (the workers' counters) and HTTP writes. With the bus part's baselines they bound what
the sagas could do on this machine: commits = HTTP writes + deliveries + timers; broker messages = deliveries +
events (each event also goes to the audit queue). Memory is each API's and worker's resident size, at rest and at
its peak under the highest load of the sweep.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa

from bench import seed
from bench.topology import Topology
from marketplace.registry import NAMES as SERVICES
from shared.ids import new_id

HERE = Path(__file__).resolve().parent
BENCH_PYTHON = Path(os.environ.get("BENCH_PYTHON", HERE / ".venv" / "bin" / "python"))
CLIENT = HERE / "client" / "stories.py"
API_WORKERS, API_THREADS = 2, 4
# Scaling stops at 2 workers per service: at 4, the 24 workers and 12 API processes hold more connections than
# PostgreSQL's default 100, and on 2 cores a third or fourth worker only competes for the same CPU.
FULL = {"clients": [1, 4, 16], "duration_s": 20, "workers": [1, 2], "scaling_clients": 16,
        "one_story": 200, "parallel": [1, 2, 4, 6, 8]}
QUICK = {"clients": [4], "duration_s": 8, "workers": [1, 2], "scaling_clients": 4,
         "one_story": 20, "parallel": [1, 6]}
ONE_STORY_MAX_S = 300  # the stories one at a time stop here even if fewer than planned are done
WARMUP_S = 3  # connection pools, lazy imports and caches filled before the first point
SETTLE_TIMEOUT_S = 120
CARD = "4242424242424242"
DEPOSIT = 50_000_000  # cents per client: thousands of stories of stories.AMOUNT and its client fee
# Read from services/contracts/sagas.py (approve, record_release) and services/payments/handlers.py (release_escrow).
CHAIN = {"commits": 3, "hops": 2, "path": (
    "contracts API: approve commits the milestone `approved` and its outbox row, publishes "
    "contracts.milestone.approved (confirmed) → RabbitMQ → payments worker: release_escrow commits inbox row, "
    "ledger entry, hold-end timer and outbox row, publishes payments.escrow.released → RabbitMQ → contracts "
    "worker: record_escrow_released commits inbox row, milestone `released`, contract `completed` "
    "(and contracts.contract.completed for reviews, off the path)")}
COUNTS = sa.text("SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM inbox), "
                 "(SELECT count(*) FROM outbox WHERE sent_at IS NULL), "
                 "(SELECT count(*) FROM timers WHERE due_at < now() + interval '10 seconds')")
TIMERS_FIRED = re.compile(r"^timers_fired_total\{[^}]*\} ([0-9.e+]+)$", re.MULTILINE)


def run(out_dir: Path, *, amqp_url: str, pg_url: str, quick: bool) -> dict:
    plan = QUICK if quick else FULL
    parties = max(*plan["clients"], *plan["parallel"], plan["scaling_clients"])
    topology = Topology(out_dir, amqp_url, pg_url, api_workers=API_WORKERS, api_threads=API_THREADS, workers=1)
    try:
        topology.up()
        load = Load(topology, out_dir, sign_up(topology, parties))
        at_rest = topology.rss()
        warmup = load.drive("warmup", parties, WARMUP_S)
        if not warmup["stories"]:  # rather than every point waiting out each story's timeout
            raise RuntimeError(f"no story completed in the warm-up: {warmup['failures']}")
        one_story = load.point("one-story", 1, ONE_STORY_MAX_S, stories=plan["one_story"])[0]
        parallel = []
        for clients in plan["parallel"]:
            point, cost = load.point("parallel", clients, plan["duration_s"])
            parallel.append({**point, "commits": cost["commits"]})
        busiest, peak, costs = max(plan["clients"]), {}, {}
        concurrency = []
        for clients in plan["clients"]:
            sampled = peak if clients == busiest else None
            point, costs[clients] = load.point("concurrency", clients, plan["duration_s"], sampled)
            concurrency.append(point)
        scaling = []
        for workers in plan["workers"]:
            topology.scale(workers)
            scaling.append(load.point("scaling", plan["scaling_clients"], plan["duration_s"])[0])
    finally:
        topology.down()
    return {"settings": {**plan, "api_workers": API_WORKERS, "api_threads": API_THREADS, "parties": parties},
            "story": {**costs[busiest], "chain": CHAIN}, "one_story": one_story, "parallel": parallel,
            "concurrency": concurrency, "scaling": scaling, "memory": {"at_rest": at_rest, "under_load": peak}}


# Parties ----------------------------------------------------------------------------------

def sign_up(topology: Topology, count: int) -> list[dict]:
    """`count` client and freelancer pairs, each client with money for all its stories."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda number: _pair(topology, number), range(count)))


def _pair(topology: Topology, number: int) -> dict:
    client = _party(topology.url("users"), "client", number)
    seed.post(f"{topology.url('payments')}/payments/deposits", client["token"],
              {"amount": DEPOSIT, "card_number": CARD}, key=new_id())
    return {"client": client, "freelancer": _party(topology.url("users"), "freelancer", number)}


def _party(users_url: str, role: str, number: int) -> dict:
    login = seed.register(users_url, role, number)
    return {"id": login["id"], "token": seed.token(users_url, login)}


# Load -------------------------------------------------------------------------------------

class Load:
    """Runs the load generator against the topology and counts what the sagas did meanwhile."""

    def __init__(self, topology: Topology, out_dir: Path, parties: list[dict]):
        self.topology = topology
        self.dir = out_dir / "points"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.parties = self.dir / "parties.json"
        self.parties.write_text(json.dumps(parties))
        self.engines = {name: sa.create_engine(topology.database_url(name), poolclass=sa.pool.NullPool)
                        for name in SERVICES}

    def point(self, phase: str, clients: int, seconds: int, peak: dict[str, int] | None = None, *,
              stories: int | None = None) -> tuple[dict, dict]:
        """One measured point from a settled system to a settled system (`stories` of them at most): its figures
        and what a story cost."""
        workers = self.topology.workers_per_service
        before = self.settle()
        summary = self.drive(f"{phase}-c{clients}-w{workers}", clients, seconds, peak, stories=stories)
        after = self.settle()
        point = {"clients": clients, "workers": workers,
                 **{key: summary[key] for key in ("stories", "stories_per_s", "approve_to_released", "story_ms",
                                                  "failed", "failures")}}
        print(f"sagas: {phase}, {clients} clients, {workers} worker(s): {summary['stories_per_s']} stories/s, approve→released "
              f"p50 {summary['approve_to_released']['p50_ms']} ms p99 {summary['approve_to_released']['p99_ms']} ms, "
              f"{summary['failed']} failed, client CPU {summary['client_cpu_s']}s", flush=True)
        return point, _per_story(before, after, summary)

    def drive(self, name: str, clients: int, seconds: float, peak: dict[str, int] | None = None, *,
              stories: int | None = None) -> dict:
        """Run the load generator; while it runs, keep each process's largest resident size in `peak`."""
        config, out, log = (self.dir / f"{name}{suffix}" for suffix in (".config.json", ".json", ".log"))
        config.write_text(json.dumps({"urls": {service: self.topology.url(service) for service in SERVICES},
                                      "parties": str(self.parties), "clients": clients, "duration_s": seconds,
                                      "stories": stories, "out": str(out)}))
        with open(log, "w") as output:
            client = subprocess.Popen([str(BENCH_PYTHON), str(CLIENT), str(config)], stdout=output,
                                      stderr=subprocess.STDOUT)
        try:
            while client.poll() is None:
                if peak is not None:
                    for label, size in self.topology.rss().items():
                        peak[label] = max(peak.get(label, 0), size)
                try:
                    client.wait(1)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        if client.returncode != 0:
            raise RuntimeError(f"the saga client failed ({client.returncode}): {log.read_text()[-3000:]}")
        self.topology.check_alive()
        return json.loads(out.read_text())["summary"]

    def settle(self) -> dict:
        """Wait until the sagas are done: nothing unsent, no timer about to fire, the counts still for a second."""
        deadline, last = time.monotonic() + SETTLE_TIMEOUT_S, None
        while True:
            now = self.counts()
            if now == last and now["unsent"] == now["timers_due"] == 0:
                return now
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sagas never settled: {now}")
            last = now
            time.sleep(1)

    def counts(self) -> dict:
        totals = {"events": 0, "deliveries": 0, "unsent": 0, "timers_due": 0}
        for engine in self.engines.values():
            with engine.connect() as connection:
                row = connection.execute(COUNTS).one()
            for key, value in zip(totals, row):
                totals[key] += value
        totals["timers"] = sum(_timers_fired(worker.metrics_port) for worker in self.topology.all_workers)
        return totals


def _timers_fired(port: int) -> int:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return int(sum(float(value) for value in TIMERS_FIRED.findall(text)))


def _per_story(before: dict, after: dict, summary: dict) -> dict:
    """Averages over the point's completed stories; a failed story's partial work would inflate them."""
    stories = summary["stories"]
    per = {key: round((after[key] - before[key]) / stories, 2) if stories else None
           for key in ("events", "deliveries", "timers")}
    commits = round(summary["http_writes"] + per["deliveries"] + per["timers"], 2) if stories else None
    return {"http_requests": summary["http_requests"], "http_writes": summary["http_writes"], **per,
            "commits": commits}
