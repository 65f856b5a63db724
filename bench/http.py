"""The HTTP benchmark: requests/s and p50/p99 latency of four endpoints of the real topology, each beside a bare
endpoint (bench/bare.py) returning a JSON body of the same size under the same gunicorn settings.

The endpoints: `GET /jobs/{id}` (a read by key), `GET /jobs?q=` (a full-text search over 100,000 jobs),
`POST /auth/token` (a deliberately slow password hash) and `POST /jobs/{id}/proposals` (a write: row lock,
insert, outbox). The bare endpoint is the floor, what gunicorn, Flask and loopback cost before any service code
runs, so the gap between the two is the service's own work. `GET /jobs/{id}` has a second baseline beside it: the
same bare app reading the same job and its skills with raw psycopg and answering the same JSON, the stack's limit
for a read by key (what gunicorn, Flask, psycopg and PostgreSQL cost with no pool, ORM or schema in between). wrk
(scripts in bench/wrk) makes the load at a few connection counts, service and baseline runs alternating so that
drift on the machine hits them all.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests

from bench import seed
from bench.topology import Topology
from tests.ports import free_port
from tests.faults.suite import Process

ROOT = Path(__file__).resolve().parents[1]
WRK_DIR = Path(__file__).resolve().parent / "wrk"
API_WORKERS, API_THREADS = 2, 4
FULL = {"jobs": 100_000, "connections": [1, 8, 32], "duration_s": 10, "warmup_s": 2}
QUICK = {"jobs": 10_000, "connections": [8], "duration_s": 3, "warmup_s": 1}
PROPOSAL = {"cover_letter": "I have built this kind of thing several times; happy to share examples.",
            "amount": 120000, "estimated_days": 14}
HOURLY_PROPOSAL = {"cover_letter": PROPOSAL["cover_letter"], "rate": 4500, "estimated_days": 14}


@dataclass(frozen=True)
class Endpoint:
    name: str
    service: str
    path: str    # what wrk's URL ends with; the script may add to it (a job id)
    script: str
    expect: int  # the status every response must have
    sample: dict  # one request as the script makes it: requests.request keywords, "path" added to `path`
    psycopg: str | None = None  # the raw-psycopg baseline's path on the bare app, if it has one


def run(out_dir: Path, *, amqp_url: str, pg_url: str, quick: bool) -> dict:
    plan = QUICK if quick else FULL
    connections = plan["connections"]
    # Each wrk thread sending proposals is a freelancer of its own (a "slot"); slot 0 makes the sample request.
    slots = 1 + sum(_threads(count) for count in [max(connections), *connections])
    topology = Topology(out_dir, amqp_url, pg_url, api_workers=API_WORKERS, api_threads=API_THREADS, workers=1)
    bare = None
    try:
        topology.up()
        began = time.monotonic()
        seeded = seed.seed(topology.url("users"), topology.url("jobs"), topology.database_url("jobs"),
                           jobs=plan["jobs"], freelancers=max(slots, *connections), tokens=slots)
        seed_seconds = round(time.monotonic() - began, 1)
        print(f"http: seeded in {seed_seconds}s ({seeded.jobs_seconds}s for {plan['jobs']} jobs)", flush=True)
        data = _write_data(out_dir / "wrk-data", seeded)
        endpoints = _endpoints(seeded)
        sizes = [_sample(topology.url(endpoint.service) + endpoint.path, endpoint, endpoint.expect)
                 for endpoint in endpoints]
        bare, bare_url = _start_bare(out_dir, sorted(set(sizes)), topology.database_url("jobs"))
        _wait_ready(bare, f"{bare_url}/{sizes[0]}")
        results = []
        for endpoint, size in zip(endpoints, sizes):
            urls = {"service": topology.url(endpoint.service) + endpoint.path,
                    "bare": f"{bare_url}/{size}{endpoint.path}"}
            _sample(urls["bare"], endpoint, 200, size)
            if endpoint.psycopg:
                urls["psycopg"] = bare_url + endpoint.psycopg
                # Not the first job: the proposal sampled above counts on it, and the other API process may
                # answer it from its read cache, as it may for up to JOB_CACHE_TTL after a change.
                _same_body(endpoint, urls["service"], urls["psycopg"], seeded.job_ids[1:5])
            results.append({"name": endpoint.name, "bytes": size, "runs": _measure(endpoint, urls, plan, data)})
            topology.check_alive()
    finally:
        if bare is not None:
            bare.stop()
        topology.down()
    return {"settings": {"api_workers": API_WORKERS, "api_threads": API_THREADS, "duration_s": plan["duration_s"],
                         "connections": connections, "jobs": plan["jobs"], "seed_seconds": seed_seconds,
                         "search_word": seeded.word, "search_matches": seeded.matches},
            "endpoints": results}


def _endpoints(seeded: seed.Seeded) -> list[Endpoint]:
    job = seeded.job_ids[0]
    freelancer = {"Authorization": f"Bearer {seeded.tokens[0]}"}
    return [
        Endpoint("GET /jobs/{id}", "jobs", "/jobs/", "job.lua", 200, {"method": "GET", "path": job},
                 psycopg="/psycopg/jobs/"),
        Endpoint("GET /jobs?q=", "jobs", f"/jobs?q={seeded.word}", "search.lua", 200, {"method": "GET", "path": ""}),
        Endpoint("POST /auth/token", "users", "/auth/token", "token.lua", 200,
                 {"method": "POST", "path": "", "json": seeded.logins[0]}),
        Endpoint("POST /jobs/{id}/proposals", "jobs", "/jobs/", "proposal.lua", 201,
                 {"method": "POST", "path": f"{job}/proposals", "json": PROPOSAL, "headers": freelancer}),
    ]


def _write_data(folder: Path, seeded: seed.Seeded) -> Path:
    """The files the wrk scripts read (bench/wrk/common.lua `lines`); line i of proposals.txt prices a proposal
    on job i of jobs.txt as its budget type wants."""
    folder.mkdir(parents=True, exist_ok=True)
    proposals = [json.dumps(HOURLY_PROPOSAL if job in seeded.hourly else PROPOSAL) for job in seeded.job_ids]
    files = {"jobs.txt": seeded.job_ids, "tokens.txt": seeded.tokens, "proposals.txt": proposals,
             "logins.txt": [json.dumps(login) for login in seeded.logins]}
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


def _sample(url: str, endpoint: Endpoint, expect: int, size: int | None = None) -> int:
    """Make one request as the script would, check its status (and size), and return its body's size."""
    options = dict(endpoint.sample)
    response = requests.request(url=url + options.pop("path"), timeout=30, **options)
    if response.status_code != expect or size not in (None, len(response.content)):
        raise RuntimeError(f"{endpoint.name} at {url}: {response.status_code} with {len(response.content)} bytes, "
                           f"not {expect} with {size or 'any'}: {response.text[:300]}")
    return len(response.content)


def _same_body(endpoint: Endpoint, service_url: str, psycopg_url: str, job_ids: list[str]) -> None:
    """The raw-psycopg baseline answers what the service answers: for a few jobs (fixed-price and hourly among
    them) and for one that does not exist."""
    for job_id in [*job_ids, str(uuid.uuid4())]:
        service = requests.get(service_url + job_id, timeout=30)
        psycopg = requests.get(psycopg_url + job_id, timeout=30)
        if service.status_code != psycopg.status_code:
            raise RuntimeError(f"{endpoint.name} of {job_id}: the raw-psycopg baseline answers "
                               f"{psycopg.status_code}, the service {service.status_code}")
        if service.ok and service.json() != psycopg.json():
            ours, theirs = service.json(), psycopg.json()
            differ = {name: (theirs.get(name), ours.get(name)) for name in sorted(ours.keys() | theirs.keys())
                      if ours.get(name) != theirs.get(name)}
            raise RuntimeError(f"{endpoint.name} of {job_id}: the raw-psycopg baseline and the service answer "
                               f"differently; (baseline, service) by field: {str(differ)[:2000]}")


def _start_bare(out_dir: Path, sizes: list[int], database_url: str) -> tuple[Process, str]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.bare", "--port", str(port), "--workers", str(API_WORKERS),
            "--threads", str(API_THREADS), "--sizes", ",".join(map(str, sizes)), "--database-url", database_url]
    bare = Process("bare-api", argv, out_dir).start({**os.environ, "PYTHONPATH": str(ROOT)})
    return bare, f"http://127.0.0.1:{port}"


def _wait_ready(bare: Process, url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/ready", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if not bare.alive or time.monotonic() > deadline:
            raise RuntimeError(f"the bare app did not start: {(bare.log_dir / 'bare-api.log').read_text()[-3000:]}")
        time.sleep(0.2)


def _measure(endpoint: Endpoint, urls: dict[str, str], plan: dict, data: Path) -> list[dict]:
    slot = 1

    def load(side: str, connections: int, seconds: int) -> dict:
        nonlocal slot
        if side != "service":  # the baselines take any token: freelancer slots are for the service
            return _summary(_wrk(urls[side], endpoint.script, connections, seconds, data, 0), 200)
        result = _wrk(urls[side], endpoint.script, connections, seconds, data, slot)
        slot += _threads(connections)
        return _summary(result, endpoint.expect)

    for side in urls:
        load(side, max(plan["connections"]), plan["warmup_s"])
    runs = []
    for number, connections in enumerate(plan["connections"]):
        order = list(urls) if number % 2 == 0 else list(urls)[::-1]
        measured = {side: load(side, connections, plan["duration_s"]) for side in order}
        runs.append({"connections": connections, **{side: measured[side] for side in urls}})
        print(f"http: {endpoint.name} c={connections}: "
              + ", ".join(f"{side} {_brief(measured[side])}" for side in urls), flush=True)
    return runs


def _threads(connections: int) -> int:
    return min(2, connections)


def _wrk(url: str, script: str, connections: int, seconds: int, data: Path, slot: int) -> dict:
    threads = _threads(connections)
    env = {**os.environ, "WRK_DATA": str(data), "WRK_THREADS": str(threads), "WRK_SLOT": str(slot)}
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script, url]
    done = subprocess.run(argv, cwd=WRK_DIR, env=env, capture_output=True, text=True, timeout=seconds + 60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("wrk-result ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return json.loads(lines[0].removeprefix("wrk-result "))


def _summary(result: dict, expect: int) -> dict:
    unexpected = sum(count for status, count in result["statuses"].items() if int(status) != expect)
    return {"rps": round(result["requests"] / (result["duration_us"] / 1e6), 1),
            "p50_ms": round(result["p50_us"] / 1000, 2), "p99_ms": round(result["p99_us"] / 1000, 2),
            "requests": result["requests"],
            "errors": sum(result[kind] for kind in ("connect", "read", "write", "timeout")),
            "unexpected_status": unexpected, "statuses": result["statuses"]}


def _brief(measured: dict) -> str:
    flag = "" if measured["errors"] == measured["unexpected_status"] == 0 else \
        f" FLAGGED: {measured['errors']} errors, statuses {measured['statuses']}"
    return f"{measured['rps']} rps, p50 {measured['p50_ms']} ms, p99 {measured['p99_ms']} ms{flag}"
