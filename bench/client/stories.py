"""The saga load generator: clients hire freelancers and pay them, over HTTP only, as fast as the services let them.

    bench/.venv/bin/python bench/client/stories.py CONFIG.json

CONFIG is {"urls": {service: base URL}, "parties": a JSON file of [{"client": {"id", "token"}, "freelancer": {...}}],
"clients": N, "duration_s": seconds, "out": where the result goes}, and optionally "stories": how many to start in
all. Client i plays stories with freelancer i, back to back until the deadline or until that many have started;
the stories in flight then finish. With one client, every story is the only one in flight. A story goes from
posting a job to its milestone being `released` (the hiring saga, then the release saga): no payout, no review.
The hire funds the first milestone, so the contract being `offered` is also the milestone being `funded`.

This runs in the bench's own environment (aiohttp), never the project's: it knows the services only by their API.
"""
from __future__ import annotations

import asyncio
import json
import math
import sys
import time
import uuid
from pathlib import Path

import aiohttp

AMOUNT = 10_000  # cents; the client's deposit (bench/sagas.py) pays for thousands of these and their fee
JOB = {"title": "Benchmark a saga", "description": "One hire, one milestone, one release.", "skills": ["python"],
       "budget_type": "fixed", "budget_amount": AMOUNT}
PROPOSAL = {"cover_letter": "I can do this.", "amount": AMOUNT, "estimated_days": 1}
POLL_S = 0.02
RELEASE_POLL_S = 0.005  # finer: the approve→released latency is measured by this poll
WAIT_S = 60
FAILURES_KEPT = 5


def new_id() -> str:
    """An Idempotency-Key. The kit makes its ids the same way, but this runs apart from the project."""
    return str(uuid.uuid4())


class StoryFailed(Exception):
    pass


class Api:
    """The services' API; `tally` counts the requests and the writes (POSTs) of one story."""

    def __init__(self, session: aiohttp.ClientSession, urls: dict[str, str]):
        self.session, self.urls = session, urls

    async def call(self, tally: dict, method: str, path: str, token: str, *, expect: tuple[int, ...],
                   body: dict | None = None, key: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = key
        tally["requests"] += 1
        tally["writes"] += method == "POST"
        url = self.urls[path.split("/")[1]] + path
        async with self.session.request(method, url, json=body, headers=headers) as response:
            content = await response.read()
        if response.status not in expect:
            raise StoryFailed(f"{method} {path} answered {response.status}: {content[:200].decode(errors='replace')}")
        return json.loads(content) if content else {}

    async def until(self, tally: dict, path: str, token: str, what: str, done, interval: float) -> dict:
        """Poll a contract until `done(contract)`; 404 is a contract the hiring saga has not made yet."""
        deadline, last = time.monotonic() + WAIT_S, {}
        while time.monotonic() < deadline:
            last = await self.call(tally, "GET", path, token, expect=(200, 404))
            if last.get("id") and done(last):
                return last
            await asyncio.sleep(interval)
        raise StoryFailed(f"{path} never {what} in {WAIT_S}s (last status: {last.get('status')})")


async def story(api: Api, pair: dict, tally: dict) -> float:
    """One hire-to-release story; returns milliseconds from just before `approve` to seeing `released`."""
    client, freelancer = pair["client"]["token"], pair["freelancer"]["token"]
    job = await api.call(tally, "POST", "/jobs", client, expect=(201,), body=JOB)
    proposal = await api.call(tally, "POST", f"/jobs/{job['id']}/proposals", freelancer, expect=(201,), body=PROPOSAL)
    hired = await api.call(tally, "POST", f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", client,
                           expect=(202,), body={}, key=new_id())
    contract = f"/contracts/{hired['contract_id']}"
    offer = await api.until(tally, contract, client, "offered",
                            lambda c: c["status"] in ("offered", "cancelled"), POLL_S)
    if offer["status"] != "offered":
        raise StoryFailed(f"the hire ended {offer['status']} ({offer.get('end_reason')})")
    milestone = f"{contract}/milestones/{offer['milestones'][0]['id']}"
    await api.call(tally, "POST", f"{contract}/accept", freelancer, expect=(200,))
    await api.call(tally, "POST", f"{milestone}/submit", freelancer, expect=(200,), body={"message": "Done."})
    approving = time.monotonic()
    await api.call(tally, "POST", f"{milestone}/approve", client, expect=(202,), key=new_id())
    await api.until(tally, contract, client, "released",
                    lambda c: c["milestones"][0]["status"] == "released", RELEASE_POLL_S)
    return (time.monotonic() - approving) * 1000


async def play(api: Api, number: int, pair: dict, deadline: float, records: list[dict], budget: list[int]) -> None:
    """One client's stories, back to back until the deadline or until the clients' budget of stories is spent."""
    while time.monotonic() < deadline and budget[0] != 0:
        budget[0] -= 1
        tally = {"requests": 0, "writes": 0}
        record = {"client": number, "start": time.time()}
        began = time.monotonic()
        try:
            record["approve_to_released_ms"] = await story(api, pair, tally)
            record["ok"] = True
        except Exception as error:  # noqa: BLE001 - a failed story is counted, never the end of the run
            record["ok"], record["error"] = False, f"{type(error).__name__}: {error}"
        record.update(tally, end=time.time(), story_ms=(time.monotonic() - began) * 1000)
        records.append(record)


async def drive(config: dict) -> dict:
    parties = json.loads(Path(config["parties"]).read_text())
    if len(parties) < config["clients"]:
        raise SystemExit(f"{config['clients']} clients but only {len(parties)} parties")
    records: list[dict] = []
    connector = aiohttp.TCPConnector(limit=2 * config["clients"] + 8)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        api = Api(session, config["urls"])
        began, cpu = time.monotonic(), time.process_time()
        deadline = began + config["duration_s"]
        budget = [config.get("stories") or -1]  # shared by the clients; below zero is no limit
        await asyncio.gather(*(play(api, number, pair, deadline, records, budget)
                               for number, pair in enumerate(parties[:config["clients"]])))
        elapsed, cpu = time.monotonic() - began, time.process_time() - cpu
    return {"summary": summarize(config["clients"], records, elapsed, cpu), "stories": records}


def summarize(clients: int, records: list[dict], elapsed: float, cpu: float) -> dict:
    done = [record for record in records if record["ok"]]
    failed = [record for record in records if not record["ok"]]
    return {
        "clients": clients, "elapsed_s": round(elapsed, 2), "stories": len(done),
        "stories_per_s": round(len(done) / elapsed, 2),
        "approve_to_released": percentiles([record["approve_to_released_ms"] for record in done]),
        "story_ms": percentiles([record["story_ms"] for record in done]),
        "failed": len(failed), "failures": [record["error"] for record in failed[:FAILURES_KEPT]],
        "http_requests": mean([record["requests"] for record in done]),
        "http_writes": mean([record["writes"] for record in done]),
        "client_cpu_s": round(cpu, 2),  # a load generator near one core's worth of elapsed is itself the limit
    }


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)

    def rank(p: float) -> float | None:  # nearest rank
        return round(ordered[max(0, math.ceil(p * len(ordered)) - 1)], 1) if ordered else None

    return {"p50_ms": rank(0.50), "p99_ms": rank(0.99)}


def mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    result = asyncio.run(drive(config))
    Path(config["out"]).write_text(json.dumps(result, indent=1))
    print(json.dumps(result["summary"]))


if __name__ == "__main__":
    main()
