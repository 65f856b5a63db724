"""Stories of job postings: posting, reading, editing and closing a job."""
from __future__ import annotations

import pytest

from tests.support import new_id


class TestPostJob:
    def test_a_client_posts_a_fixed_price_job(self, jobs, owner):
        response = jobs.http.post("/jobs", json={
            "title": "  Build a landing page ", "description": "Plain HTML.", "skills": ["HTML", "html", " CSS "],
            "budget_type": "fixed", "budget_amount": 50_000}, headers=owner.headers)

        assert response.status_code == 201
        job = response.json
        assert response.headers["Location"] == f"/jobs/{job['id']}"
        assert job == {**job, "client_id": owner.id, "title": "Build a landing page", "skills": ["HTML", "CSS"],
                       "budget_type": "fixed", "budget_amount": 50_000, "hourly_rate_max": None, "currency": "USD",
                       "status": "open", "proposals_count": 0}
        assert job["created_at"].endswith("Z")

    def test_a_client_posts_an_hourly_job(self, jobs, owner):
        job = jobs.post_job(owner, budget_type="hourly", budget_amount=None, hourly_rate_max=6_000)

        assert (job["budget_type"], job["hourly_rate_max"], job["budget_amount"]) == ("hourly", 6_000, None)

    def test_posting_emits_job_posted(self, jobs, owner):
        job = jobs.post_job(owner)

        [event] = jobs.emitted("jobs.job.posted")
        assert event["data"] == {"job_id": job["id"], "client_id": owner.id, "title": job["title"],
                                 "skills": ["HTML", "CSS"], "budget_type": "fixed", "budget_amount": 50_000}

    def test_a_freelancer_cannot_post(self, jobs):
        response = jobs.http.post("/jobs", json={"title": "Build a thing", "description": "x", "budget_type": "fixed",
                                                 "budget_amount": 500}, headers=jobs.freelancer().headers)

        assert response.status_code == 403
        assert response.content_type == "application/problem+json"

    def test_posting_needs_a_token(self, jobs):
        valid = {"title": "Build a thing", "description": "x", "budget_type": "fixed", "budget_amount": 500}
        assert jobs.http.post("/jobs", json=valid).status_code == 401

    @pytest.mark.parametrize("changes, field", [
        ({"title": "Hi"}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": ""}, "description"),
        ({"description": "x" * 20001}, "description"),
        ({"skills": [f"s{i}" for i in range(21)]}, "skills"),
        ({"budget_type": "barter"}, "budget_type"),
        ({"budget_amount": 499}, "budget_amount"),
        ({"budget_amount": None}, "budget_amount"),
        ({"budget_amount": 10.5}, "budget_amount"),
        ({"hourly_rate_max": 5_000}, "hourly_rate_max"),
        ({"budget_type": "hourly", "budget_amount": None}, "hourly_rate_max"),
        ({"status": "filled"}, "status"),
    ])
    def test_an_invalid_job_is_422_naming_the_field(self, jobs, owner, changes, field):
        body = {"title": "Build a landing page", "description": "Plain HTML.", "budget_type": "fixed",
                "budget_amount": 50_000, **changes}

        response = jobs.http.post("/jobs", json=body, headers=owner.headers)

        assert response.status_code == 422
        assert field in response.json["errors"]

    def test_malformed_json_is_400(self, jobs, owner):
        headers = {**owner.headers, "Content-Type": "application/json"}

        response = jobs.http.post("/jobs", data="{not json", headers=headers)

        assert response.status_code == 400


class TestReadJob:
    def test_anyone_reads_a_job(self, jobs, job):
        response = jobs.http.get(f"/jobs/{job['id']}")

        assert response.status_code == 200
        assert response.json == job

    def test_an_unknown_job_is_404(self, jobs):
        assert jobs.http.get(f"/jobs/{new_id()}").status_code == 404
        assert jobs.http.get("/jobs/not-a-uuid").status_code == 404


class TestEditJob:
    def test_the_client_edits_an_open_job_and_the_rest_stays(self, jobs, owner, job):
        response = jobs.http.patch(f"/jobs/{job['id']}", json={"title": "Build two landing pages", "skills": ["Figma"]},
                                   headers=owner.headers)

        assert response.status_code == 200
        assert response.json == {**job, "title": "Build two landing pages", "skills": ["Figma"]}

    def test_switching_to_hourly_needs_a_rate(self, jobs, owner, job):
        missing = jobs.http.patch(f"/jobs/{job['id']}", json={"budget_type": "hourly"}, headers=owner.headers)
        switched = jobs.http.patch(f"/jobs/{job['id']}", json={"budget_type": "hourly", "hourly_rate_max": 4_000},
                                   headers=owner.headers)
        back = jobs.http.patch(f"/jobs/{job['id']}", json={"budget_type": "fixed"}, headers=owner.headers)

        assert missing.status_code == 422 and "hourly_rate_max" in missing.json["errors"]
        assert switched.status_code == 200 and switched.json["hourly_rate_max"] == 4_000
        assert back.status_code == 200 and back.json["hourly_rate_max"] is None

    def test_another_user_cannot_edit(self, jobs, job):
        response = jobs.http.patch(f"/jobs/{job['id']}", json={"title": "Mine now, thanks"},
                                   headers=jobs.client().headers)

        assert response.status_code == 403
        assert jobs.job(job["id"])["title"] == job["title"]

    def test_a_closed_job_cannot_be_edited(self, jobs, owner, job):
        jobs.http.post(f"/jobs/{job['id']}/close", headers=owner.headers)

        response = jobs.http.patch(f"/jobs/{job['id']}", json={"title": "Reopened title"}, headers=owner.headers)

        assert response.status_code == 409
        assert "closed" in response.json["detail"]

    def test_validation_comes_before_existence(self, jobs, owner):
        response = jobs.http.patch(f"/jobs/{new_id()}", json={"title": "x"}, headers=owner.headers)

        assert response.status_code == 422

    def test_an_unknown_job_is_404(self, jobs, owner):
        response = jobs.http.patch(f"/jobs/{new_id()}", json={"title": "A fine title"}, headers=owner.headers)

        assert response.status_code == 404


class TestCloseJob:
    def test_closing_declines_submitted_proposals_but_not_withdrawn_ones(self, jobs, owner, job):
        waiting, leaving = jobs.freelancer(), jobs.freelancer()
        submitted = jobs.propose(job, waiting)
        withdrawn = jobs.propose(job, leaving)
        jobs.http.post(f"/jobs/{job['id']}/proposals/{withdrawn['id']}/withdraw", headers=leaving.headers)

        response = jobs.http.post(f"/jobs/{job['id']}/close", headers=owner.headers)

        assert response.status_code == 200
        assert response.json["status"] == "closed"
        assert jobs.proposal(submitted, waiting)["status"] == "declined"
        assert jobs.proposal(withdrawn, leaving)["status"] == "withdrawn"

    def test_only_the_client_closes(self, jobs, job):
        assert jobs.http.post(f"/jobs/{job['id']}/close", headers=jobs.freelancer().headers).status_code == 403
        assert jobs.job(job["id"])["status"] == "open"

    def test_closing_twice_is_409(self, jobs, owner, job):
        jobs.http.post(f"/jobs/{job['id']}/close", headers=owner.headers)

        response = jobs.http.post(f"/jobs/{job['id']}/close", headers=owner.headers)

        assert response.status_code == 409
        assert response.json["detail"] == "job is closed; it cannot become closed"

    def test_a_job_with_an_offer_pending_cannot_close(self, jobs, owner, job):
        proposal = jobs.propose(job, jobs.freelancer())
        jobs.hire(job, proposal, owner)

        response = jobs.http.post(f"/jobs/{job['id']}/close", headers=owner.headers)

        assert response.status_code == 409
        assert "offer is pending" in response.json["detail"]
        assert jobs.job(job["id"])["status"] == "open"
