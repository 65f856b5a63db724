"""The bench's HTTP part still measures what it claims: its raw-psycopg baseline for `GET /jobs/{id}` reads the
jobs the bench seeds (and one posted through the API) from the jobs service's own tables and answers exactly the
service's JSON. Nothing here is about speed; that is `make bench`'s job."""
from __future__ import annotations

import pytest
import requests

from bench import bare, seed
from bench import http as bench_http
from services.jobs import SERVICE
from shared.ids import new_id

pytestmark = [pytest.mark.postgres]
JOBS = 8  # fixed-price and hourly ones among them


@pytest.fixture
def jobs_database(make_pg_database):
    return make_pg_database("bench_jobs")


@pytest.fixture
def service(jobs_database, settings, harness):
    return harness(SERVICE, settings, jobs_database)


@pytest.fixture
def seeded(service, jobs_database) -> list[str]:
    """A job posted through the API, then JOBS more put straight into the table as the bench seeds them."""
    posted = service.client.post("/jobs", headers=service.headers(roles=("client",)), json={
        "title": "Migrate our platform", "description": "A reference job, posted through the API.",
        "skills": ["Docker", "AWS", "docker"], "budget_type": "fixed", "budget_amount": 250000})
    assert posted.status_code == 201, posted.json
    url = jobs_database.url.render_as_string(hide_password=False)
    ids, _, _ = seed._insert_jobs(url, posted.json["client_id"], JOBS, posted.json["id"])
    return [posted.json["id"], *ids]


@pytest.fixture
def baseline(jobs_database):
    return bare.create_app([], jobs_database.url.render_as_string(hide_password=False)).test_client()


def test_the_psycopg_baseline_answers_the_services_json(service, seeded, baseline):
    budgets = set()
    for job_id in seeded:
        expected = service.client.get(f"/jobs/{job_id}")
        answered = baseline.get(f"/psycopg/jobs/{job_id}")
        assert expected.status_code == answered.status_code == 200
        assert answered.data == expected.data  # the same bytes, so the same size on the wire too
        assert answered.json["skills"]
        budgets.add(answered.json["budget_type"])
    assert budgets == {"fixed", "hourly"}


def test_the_psycopg_baseline_knows_no_unknown_job(service, baseline):
    job_id = new_id()
    assert service.client.get(f"/jobs/{job_id}").status_code == baseline.get(f"/psycopg/jobs/{job_id}").status_code \
        == 404


def test_the_bare_bodies_keep_their_sizes():
    sized = bare.create_app([612, 8123]).test_client()
    assert [len(sized.get(f"/{size}/jobs/x").data) for size in (612, 8123)] == [612, 8123]
    assert len(sized.post("/612/jobs/x/proposals", json={"amount": 1}).data) == 612


def test_the_bare_baseline_runs_and_stops_as_the_bench_runs_it(jobs_database, tmp_path):
    """The bench starts the bare app under gunicorn, waits for it and stops it, as `make bench` does."""
    url = jobs_database.url.render_as_string(hide_password=False)
    process, address = bench_http._start_bare(tmp_path, [612], url)
    try:
        bench_http._wait_ready(process, f"{address}/612")
        assert len(requests.get(f"{address}/612/jobs/x", timeout=5).content) == 612
    finally:
        process.stop()
    assert not process.alive
