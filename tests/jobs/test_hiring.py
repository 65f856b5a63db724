"""Stories of hiring: the first step of the Hiring saga, as the client sees it."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from tests.support import new_id


@pytest.fixture
def freelancer(jobs):
    return jobs.freelancer()


@pytest.fixture
def proposal(jobs, job, freelancer):
    return jobs.propose(job, freelancer, amount=42_000)


class TestHire:
    def test_hiring_puts_the_proposal_in_offer_pending_and_asks_for_a_contract(self, jobs, owner, job, freelancer,
                                                                               proposal):
        response = jobs.hire(job, proposal, owner)

        assert response.status_code == 202
        hired = response.json
        assert hired["status"] == "offer_pending"
        assert response.headers["Location"] == f"/contracts/{hired['contract_id']}"
        assert jobs.proposal(proposal, owner) == hired
        [event] = jobs.emitted("jobs.hire.requested")
        assert event["correlation_id"] == hired["contract_id"]
        [milestone] = event["data"].pop("milestones")
        assert event["data"] == {"contract_id": hired["contract_id"], "job_id": job["id"],
                                 "proposal_id": proposal["id"],
                                 "client_id": owner.id, "freelancer_id": freelancer.id, "title": job["title"],
                                 "type": "fixed", "hourly_rate": None, "weekly_limit_hours": None}
        assert milestone == {**milestone, "title": "Complete the project", "amount": 42_000, "due_date": None}

    def test_the_client_plans_the_milestones(self, jobs, owner, job, proposal):
        due = (date.today() + timedelta(days=30)).isoformat()
        plan = [{"title": "Design", "amount": 10_000, "due_date": due}, {"title": "Build", "amount": 32_000}]

        assert jobs.hire(job, proposal, owner, {"milestones": plan}).status_code == 202

        milestones = jobs.emitted("jobs.hire.requested")[0]["data"]["milestones"]
        assert [(m["title"], m["amount"], m["due_date"]) for m in milestones] == [
            ("Design", 10_000, due), ("Build", 32_000, None)]
        assert len({m["milestone_id"] for m in milestones}) == 2

    @pytest.mark.parametrize("milestones, field", [
        ([], "milestones"),
        ([{"title": "Too many", "amount": 500}] * 21, "milestones"),
        ([{"title": "Small", "amount": 499}], "milestones.0.amount"),
        ([{"amount": 500}], "milestones.0.title"),
        ([{"title": "When?", "amount": 500, "due_date": "next week"}], "milestones.0.due_date"),
        ([{"title": "Late", "amount": 500, "due_date": "2020-01-01"}], "milestones.0.due_date"),
    ])
    def test_invalid_milestones_are_422_even_for_an_unknown_proposal(self, jobs, owner, job, milestones, field):
        response = jobs.hire(job, {"id": new_id()}, owner, {"milestones": milestones})

        assert response.status_code == 422
        assert field in response.json["errors"]

    def test_only_the_jobs_client_hires(self, jobs, job, freelancer, proposal):
        assert jobs.hire(job, proposal, jobs.client()).status_code == 403
        assert jobs.hire(job, proposal, freelancer).status_code == 403
        assert jobs.emitted("jobs.hire.requested") == []

    def test_an_unknown_proposal_is_404(self, jobs, owner, job):
        assert jobs.hire(job, {"id": new_id()}, owner).status_code == 404

    def test_a_withdrawn_proposal_cannot_be_hired(self, jobs, owner, job, freelancer, proposal):
        jobs.http.post(f"/jobs/{job['id']}/proposals/{proposal['id']}/withdraw", headers=freelancer.headers)

        response = jobs.hire(job, proposal, owner)

        assert response.status_code == 409
        assert response.json["detail"] == "proposal is withdrawn; it cannot become offer_pending"
        assert jobs.emitted("jobs.hire.requested") == []

    def test_a_second_hire_while_an_offer_is_pending_is_409(self, jobs, owner, job, proposal):
        other = jobs.propose(job, jobs.freelancer())
        jobs.hire(job, proposal, owner)

        response = jobs.hire(job, other, owner)

        assert response.status_code == 409
        assert "offer pending" in response.json["detail"]
        assert jobs.proposal(other, owner)["status"] == "submitted"
        assert len(jobs.emitted("jobs.hire.requested")) == 1

    def test_a_closed_job_cannot_hire(self, jobs, owner, job, proposal):
        jobs.http.post(f"/jobs/{job['id']}/close", headers=owner.headers)

        response = jobs.hire(job, proposal, owner)

        assert response.status_code == 409
        assert "closed" in response.json["detail"]


class TestHireIdempotency:
    def test_a_retried_hire_makes_no_second_contract(self, jobs, owner, job, proposal):
        first = jobs.hire(job, proposal, owner, key="hire-once")
        again = jobs.hire(job, proposal, owner, key="hire-once")

        assert first.status_code == again.status_code == 202
        assert again.json == first.json
        assert again.headers["Location"] == first.headers["Location"]
        assert again.headers["Idempotent-Replayed"] == "true"
        [event] = jobs.emitted("jobs.hire.requested")
        assert event["data"]["contract_id"] == first.json["contract_id"]

    def test_the_same_key_with_another_body_is_422(self, jobs, owner, job, proposal):
        jobs.hire(job, proposal, owner, key="hire-once")

        response = jobs.hire(job, proposal, owner, {"milestones": [{"title": "Other", "amount": 900}]}, key="hire-once")

        assert response.status_code == 422

    def test_a_new_key_on_a_pending_offer_is_409(self, jobs, owner, job, proposal):
        jobs.hire(job, proposal, owner, key="first")

        assert jobs.hire(job, proposal, owner, key="second").status_code == 409


class TestConcurrentHires:
    def test_two_hires_on_one_job_at_once_make_one_offer(self, jobs_pg):
        jobs = jobs_pg
        owner = jobs.client()
        job = jobs.post_job(owner)
        candidates = [jobs.propose(job, jobs.freelancer()) for _ in range(6)]
        start, statuses = threading.Barrier(len(candidates)), []

        def hire(proposal):
            client = jobs.harness.app.test_client()
            start.wait()
            statuses.append(client.post(f"/jobs/{job['id']}/proposals/{proposal['id']}/hire", json={},
                                        headers=owner.headers).status_code)

        threads = [threading.Thread(target=hire, args=(p,)) for p in candidates]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        assert sorted(statuses) == [202] + [409] * (len(candidates) - 1)
        assert len(jobs.emitted("jobs.hire.requested")) == 1
