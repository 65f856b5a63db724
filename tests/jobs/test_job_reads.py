"""Reading a job post: one statement, its schema's exact body, a tag to revalidate, changes seen within a bound."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.jobs import SERVICE, postings
from services.jobs.schemas import JobOut
from services.jobs.settings import JobsSettings
from shared.config import ConfigError
from shared.db import Database
from shared.http.reads import ReadCache
from tests.jobs.helpers import Jobs


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestAJobPost:
    @pytest.mark.parametrize("overrides", [
        {"title": "Écrire un café — naïve résumé ✓", "skills": ["Python", "Flask", "SQL"]},
        {"budget_type": "hourly", "budget_amount": None, "hourly_rate_max": 4_500, "skills": []},
    ])
    def test_is_answered_exactly_as_its_schema_dumps_it(self, any_jobs, overrides):
        owner = any_jobs.client()
        job = any_jobs.post_job(owner, **overrides)
        with any_jobs.harness.runtime.db.transaction() as session:
            dumped = JobOut().dump(postings.get(session, job["id"]))
        response = any_jobs.http.get(f"/jobs/{job['id']}")
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.json == dumped == job
        with any_jobs.harness.app.app_context():
            assert response.data == any_jobs.harness.app.json.response(dumped).get_data()  # as jsonify writes it

    def test_nobody_finds_a_job_that_is_not_there(self, any_jobs):
        response = any_jobs.http.get("/jobs/6f1c2a7e-0000-4000-8000-000000000000")
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"

    def test_a_revalidation_with_the_current_tag_is_a_304_without_a_body(self, jobs, job):
        first = jobs.http.get(f"/jobs/{job['id']}")
        tag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "no-cache"
        again = jobs.http.get(f"/jobs/{job['id']}", headers={"If-None-Match": tag})
        assert again.status_code == 304
        assert again.data == b""
        assert again.headers["ETag"] == tag
        other = jobs.http.get(f"/jobs/{job['id']}", headers={"If-None-Match": '"an-old-tag"'})
        assert other.status_code == 200 and other.json == first.json

    def test_its_tag_changes_with_it(self, jobs, owner, job):
        tag = jobs.http.get(f"/jobs/{job['id']}").headers["ETag"]
        jobs.http.patch(f"/jobs/{job['id']}", json={"title": "Build two landing pages"}, headers=owner.headers)
        after = jobs.http.get(f"/jobs/{job['id']}", headers={"If-None-Match": tag})
        assert after.status_code == 200
        assert after.json["title"] == "Build two landing pages"
        assert after.headers["ETag"] != tag


class TestAChange:
    def test_made_in_this_process_is_seen_at_once(self, any_jobs):
        owner, freelancer = any_jobs.client(), any_jobs.freelancer()
        job = any_jobs.post_job(owner)
        assert any_jobs.job(job["id"])["proposals_count"] == 0  # now kept
        any_jobs.propose(job, freelancer)
        assert any_jobs.job(job["id"])["proposals_count"] == 1
        any_jobs.http.post(f"/jobs/{job['id']}/close", headers=owner.headers)
        assert any_jobs.job(job["id"])["status"] == "closed"

    def test_made_in_another_process_is_seen_once_the_ttl_has_passed(self, make_database, settings, harness):
        clock = Clock()
        here = Jobs(harness(SERVICE, settings, make_database("jobs"),
                            collaborators={"job_cache": ReadCache(timedelta(seconds=1), clock=clock)}))
        elsewhere_db = Database(here.harness.runtime.db.url)
        try:
            elsewhere = Jobs(harness(SERVICE, settings, elsewhere_db))
            owner = here.client()
            job = here.post_job(owner)
            assert here.job(job["id"])["title"] == "Build a landing page"

            elsewhere.http.patch(f"/jobs/{job['id']}", json={"title": "Changed elsewhere"},
                                 headers=elsewhere.harness.headers(owner.id, ("client",)))
            clock.now += 0.9
            assert here.job(job["id"])["title"] == "Build a landing page"  # kept, still within the bound
            clock.now += 0.1
            assert here.job(job["id"])["title"] == "Changed elsewhere"
        finally:
            elsewhere_db.dispose()

    def test_is_seen_at_once_everywhere_when_nothing_is_kept(self, make_database, settings, harness):
        off = JobsSettings.from_env({"JOB_CACHE_TTL": "off"})
        here = Jobs(harness(SERVICE, settings, make_database("jobs"), service_settings=off))
        elsewhere_db = Database(here.harness.runtime.db.url)
        try:
            elsewhere = Jobs(harness(SERVICE, settings, elsewhere_db))
            owner = here.client()
            job = here.post_job(owner)
            here.job(job["id"])
            elsewhere.http.patch(f"/jobs/{job['id']}", json={"title": "Changed elsewhere"},
                                 headers=elsewhere.harness.headers(owner.id, ("client",)))
            assert here.job(job["id"])["title"] == "Changed elsewhere"
        finally:
            elsewhere_db.dispose()


class TestTheBound:
    def test_is_a_second_unless_set(self):
        assert JobsSettings.from_env({}).job_cache_ttl == timedelta(seconds=1)
        assert JobsSettings.from_env({"JOB_CACHE_TTL": "250ms"}).job_cache_ttl == timedelta(milliseconds=250)
        assert JobsSettings.from_env({"JOB_CACHE_TTL": "off"}).job_cache_ttl == timedelta(0)

    @pytest.mark.parametrize("value", ["soon", "0s", "2m", "9" * 30])
    def test_a_bad_one_names_the_variable(self, value):
        with pytest.raises(ConfigError, match="JOB_CACHE_TTL"):
            JobsSettings.from_env({"JOB_CACHE_TTL": value})


class TestTheKeptBodies:
    def test_are_bounded_in_number_least_recently_read_first_out(self):
        from shared.http.reads import Body

        reads: list[str] = []
        cache = ReadCache(timedelta(seconds=10), size=2, clock=Clock())

        def read(key):
            reads.append(key)
            return Body(key.encode(), key)

        for key in ("a", "b", "a", "c", "a", "b"):
            cache.get(key, lambda key=key: read(key))
        assert reads == ["a", "b", "c", "b"]

    def test_a_missing_row_is_not_kept(self):
        reads = []
        cache = ReadCache(timedelta(seconds=10), clock=Clock())
        for _ in range(2):
            assert cache.get("gone", lambda: reads.append(1)) is None
        assert len(reads) == 2
