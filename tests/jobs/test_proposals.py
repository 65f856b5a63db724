"""Stories of proposals: sending them, who sees them, withdrawing them."""
from __future__ import annotations

import threading

import pytest

from tests.support import new_id


class TestSendProposal:
    def test_a_freelancer_sends_a_proposal(self, jobs, job):
        freelancer = jobs.freelancer()

        response = jobs.http.post(f"/jobs/{job['id']}/proposals", json={
            "cover_letter": "  Happy to help. ", "amount": 40_000}, headers=freelancer.headers)

        assert response.status_code == 201
        proposal = response.json
        assert response.headers["Location"] == f"/jobs/{job['id']}/proposals/{proposal['id']}"
        assert proposal == {**proposal, "job_id": job["id"], "freelancer_id": freelancer.id,
                            "cover_letter": "Happy to help.", "amount": 40_000, "currency": "USD",
                            "estimated_days": None, "status": "submitted", "contract_id": None}
        assert jobs.job(job["id"])["proposals_count"] == 1

    def test_sending_emits_proposal_submitted(self, jobs, job):
        freelancer = jobs.freelancer()
        proposal = jobs.propose(job, freelancer)

        [event] = jobs.emitted("jobs.proposal.submitted")
        assert event["data"] == {"proposal_id": proposal["id"], "job_id": job["id"], "freelancer_id": freelancer.id,
                                 "amount": 45_000, "rate": None, "client_id": job["client_id"], "job_title": job["title"]}

    def test_a_client_cannot_propose(self, jobs, job):
        response = jobs.http.post(f"/jobs/{job['id']}/proposals", json={"cover_letter": "Me!", "amount": 500},
                                  headers=jobs.client().headers)

        assert response.status_code == 403

    def test_nobody_proposes_on_their_own_job(self, jobs):
        both = jobs.person("client", "freelancer")
        job = jobs.post_job(both)

        response = jobs.http.post(f"/jobs/{job['id']}/proposals", json={"cover_letter": "Me!", "amount": 500},
                                  headers=both.headers)

        assert response.status_code == 403
        assert "own job" in response.json["detail"]

    def test_one_live_proposal_per_freelancer_and_job(self, jobs, job):
        freelancer = jobs.freelancer()
        first = jobs.propose(job, freelancer)

        again = jobs.http.post(f"/jobs/{job['id']}/proposals", json={"cover_letter": "Again", "amount": 900},
                               headers=freelancer.headers)
        jobs.http.post(f"/jobs/{job['id']}/proposals/{first['id']}/withdraw", headers=freelancer.headers)
        after_withdrawing = jobs.http.post(f"/jobs/{job['id']}/proposals",
                                           json={"cover_letter": "Again", "amount": 900}, headers=freelancer.headers)

        assert again.status_code == 409
        assert after_withdrawing.status_code == 201
        assert jobs.job(job["id"])["proposals_count"] == 1

    def test_a_closed_job_takes_no_proposals(self, jobs, owner, job):
        jobs.http.post(f"/jobs/{job['id']}/close", headers=owner.headers)

        response = jobs.http.post(f"/jobs/{job['id']}/proposals", json={"cover_letter": "Late", "amount": 500},
                                  headers=jobs.freelancer().headers)

        assert response.status_code == 409
        assert "closed" in response.json["detail"]

    @pytest.mark.parametrize("body, field", [
        ({"cover_letter": "", "amount": 500}, "cover_letter"),
        ({"cover_letter": "x" * 5001, "amount": 500}, "cover_letter"),
        ({"cover_letter": "Hi", "amount": 499}, "amount"),
        ({"cover_letter": "Hi"}, "amount"),
        ({"cover_letter": "Hi", "amount": 500, "estimated_days": 0}, "estimated_days"),
        ({"cover_letter": "Hi", "amount": 500, "status": "hired"}, "status"),
    ])
    def test_an_invalid_proposal_is_422_even_for_an_unknown_job(self, jobs, body, field):
        response = jobs.http.post(f"/jobs/{new_id()}/proposals", json=body, headers=jobs.freelancer().headers)

        assert response.status_code == 422
        assert field in response.json["errors"]

    def test_an_unknown_job_is_404(self, jobs):
        response = jobs.http.post(f"/jobs/{new_id()}/proposals", json={"cover_letter": "Hi", "amount": 500},
                                  headers=jobs.freelancer().headers)

        assert response.status_code == 404


class TestConcurrentProposals:
    def test_one_freelancer_sending_five_at_once_gets_one_through(self, jobs_pg):
        jobs = jobs_pg
        job, freelancer = jobs.post_job(jobs.client()), jobs.freelancer()
        start, statuses = threading.Barrier(5), []

        def propose():
            client = jobs.harness.app.test_client()
            start.wait()
            statuses.append(client.post(f"/jobs/{job['id']}/proposals", json={"cover_letter": "Hi", "amount": 500},
                                        headers=freelancer.headers).status_code)

        threads = [threading.Thread(target=propose) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        assert sorted(statuses) == [201, 409, 409, 409, 409]
        assert jobs.job(job["id"])["proposals_count"] == 1


class TestSeeProposals:
    def test_the_client_sees_every_proposal_newest_first(self, jobs, owner, job):
        first, second = jobs.propose(job, jobs.freelancer()), jobs.propose(job, jobs.freelancer())

        response = jobs.http.get(f"/jobs/{job['id']}/proposals", headers=owner.headers)

        assert response.status_code == 200
        assert [p["id"] for p in response.json["items"]] == [second["id"], first["id"]]
        assert response.json["next_cursor"] is None

    def test_a_freelancer_sees_only_their_own(self, jobs, job):
        mine, theirs = jobs.freelancer(), jobs.freelancer()
        own = jobs.propose(job, mine)
        jobs.propose(job, theirs)

        listed = jobs.http.get(f"/jobs/{job['id']}/proposals", headers=mine.headers).json["items"]
        other = jobs.http.get(f"/jobs/{job['id']}/proposals/{own['id']}", headers=theirs.headers)

        assert [p["id"] for p in listed] == [own["id"]]
        assert other.status_code == 404

    def test_a_stranger_sees_no_proposal(self, jobs, owner, job):
        proposal = jobs.propose(job, jobs.freelancer())
        stranger = jobs.client()

        listed = jobs.http.get(f"/jobs/{job['id']}/proposals", headers=stranger.headers)
        one = jobs.http.get(f"/jobs/{job['id']}/proposals/{proposal['id']}", headers=stranger.headers)

        assert listed.status_code == 200 and listed.json["items"] == []
        assert one.status_code == 404
        assert jobs.http.get(f"/jobs/{job['id']}/proposals/{proposal['id']}", headers=owner.headers).status_code == 200

    def test_a_proposal_is_found_only_under_its_own_job(self, jobs, owner, job):
        proposal = jobs.propose(job, jobs.freelancer())
        other_job = jobs.post_job(owner)

        response = jobs.http.get(f"/jobs/{other_job['id']}/proposals/{proposal['id']}", headers=owner.headers)

        assert response.status_code == 404

    def test_reading_proposals_needs_a_token(self, jobs, job):
        assert jobs.http.get(f"/jobs/{job['id']}/proposals").status_code == 401

    def test_the_list_pages_through_a_cursor(self, jobs, owner, job):
        made = [jobs.propose(job, jobs.freelancer())["id"] for _ in range(5)]

        first = jobs.http.get(f"/jobs/{job['id']}/proposals?limit=3", headers=owner.headers).json
        rest = jobs.http.get(f"/jobs/{job['id']}/proposals?limit=3&cursor={first['next_cursor']}",
                             headers=owner.headers).json

        assert [p["id"] for p in first["items"] + rest["items"]] == made[::-1]
        assert rest["next_cursor"] is None


class TestWithdrawProposal:
    def test_the_freelancer_withdraws(self, jobs, job):
        freelancer = jobs.freelancer()
        proposal = jobs.propose(job, freelancer)

        response = jobs.http.post(f"/jobs/{job['id']}/proposals/{proposal['id']}/withdraw", headers=freelancer.headers)

        assert response.status_code == 200
        assert response.json["status"] == "withdrawn"
        assert jobs.job(job["id"])["proposals_count"] == 0

    def test_the_client_cannot_withdraw_it_and_a_stranger_cannot_find_it(self, jobs, owner, job):
        proposal = jobs.propose(job, jobs.freelancer())
        path = f"/jobs/{job['id']}/proposals/{proposal['id']}/withdraw"

        assert jobs.http.post(path, headers=owner.headers).status_code == 403
        assert jobs.http.post(path, headers=jobs.freelancer().headers).status_code == 404

    def test_a_proposal_with_an_offer_pending_cannot_be_withdrawn(self, jobs, owner, job):
        freelancer = jobs.freelancer()
        proposal = jobs.propose(job, freelancer)
        jobs.hire(job, proposal, owner)

        response = jobs.http.post(f"/jobs/{job['id']}/proposals/{proposal['id']}/withdraw", headers=freelancer.headers)

        assert response.status_code == 409
        assert response.json["detail"] == "proposal is offer_pending; it cannot become withdrawn"

    def test_withdrawing_twice_is_409(self, jobs, job):
        freelancer = jobs.freelancer()
        proposal = jobs.propose(job, freelancer)
        path = f"/jobs/{job['id']}/proposals/{proposal['id']}/withdraw"
        jobs.http.post(path, headers=freelancer.headers)

        assert jobs.http.post(path, headers=freelancer.headers).status_code == 409
