"""Stories of finding jobs, on both databases: words, skills, budgets, status, client, pages."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.jobs import postings


@pytest.fixture
def board(any_jobs):
    """A handful of jobs from two clients, posted oldest to newest."""
    alice, bob = any_jobs.client(), any_jobs.client()
    post = any_jobs.post_job
    made = {
        "shop": post(alice, title="Django web shop", description="Build a SHOP with payments.",
                     skills=["Python", "Django"], budget_amount=300_000),
        "logo": post(alice, title="Logo for a bakery", description="A friendly logo, vector files please.",
                     skills=["Illustrator"], budget_amount=20_000),
        "api": post(bob, title="Maintain our Python API", description="Weekly fixes to a Flask service.",
                    skills=["python", "Flask"], budget_type="hourly", budget_amount=None, hourly_rate_max=8_000),
        "app": post(bob, title="Mobile shopping app", description="React Native app for our web shop.",
                    skills=["React Native"], budget_amount=900_000),
    }
    any_jobs.people = {"alice": alice, "bob": bob}
    return made


def found(jobs, query: str) -> list[str]:
    response = jobs.http.get(f"/jobs?{query}")
    assert response.status_code == 200, response.json
    return [job["id"] for job in response.json["items"]]


def ids(board, *names) -> list[str]:
    return [board[name]["id"] for name in names]


class TestSearchJobs:
    def test_newest_first_and_open_by_default(self, any_jobs, board):
        closed = any_jobs.post_job(any_jobs.people["alice"], title="Closed already")
        any_jobs.http.post(f"/jobs/{closed['id']}/close", headers=any_jobs.people["alice"].headers)

        assert found(any_jobs, "") == ids(board, "app", "api", "logo", "shop")
        assert found(any_jobs, "status=closed") == [closed["id"]]
        assert found(any_jobs, "status=any")[0] == closed["id"]

    def test_q_matches_whole_words_of_title_or_description_case_insensitively(self, any_jobs, board):
        assert found(any_jobs, "q=shop") == ids(board, "app", "shop")
        assert found(any_jobs, "q=PYTHON") == ids(board, "api")
        assert found(any_jobs, "q=vector") == ids(board, "logo")
        assert found(any_jobs, "q=web+shop") == ids(board, "app", "shop")
        assert found(any_jobs, "q=python+bakery") == []
        assert found(any_jobs, "q=sho") == []
        assert found(any_jobs, "q=%22quoted%22+OR+NOT") == []

    def test_an_edited_job_is_found_by_its_new_words(self, any_jobs, board):
        alice = any_jobs.people["alice"]
        any_jobs.http.patch(f"/jobs/{board['logo']['id']}", json={"title": "Logo for a brewery"}, headers=alice.headers)

        assert found(any_jobs, "q=brewery") == ids(board, "logo")
        assert found(any_jobs, "q=bakery") == []

    def test_skill_matches_exactly_ignoring_case(self, any_jobs, board):
        assert found(any_jobs, "skill=Python") == ids(board, "api", "shop")
        assert found(any_jobs, "skill=react+native") == ids(board, "app")
        assert found(any_jobs, "skill=React") == []

    def test_budget_range_and_type(self, any_jobs, board):
        assert found(any_jobs, "min_budget=20000&max_budget=300000") == ids(board, "logo", "shop")
        assert found(any_jobs, "max_budget=10000") == ids(board, "api")
        assert found(any_jobs, "budget_type=hourly") == ids(board, "api")
        assert found(any_jobs, "budget_type=fixed&min_budget=500000") == ids(board, "app")

    def test_by_client_and_combined(self, any_jobs, board):
        bob = any_jobs.people["bob"]
        assert found(any_jobs, f"client_id={bob.id}") == ids(board, "app", "api")
        assert found(any_jobs, f"client_id={bob.id}&q=shop&skill=react+native") == ids(board, "app")

    def test_blank_filters_are_no_filters(self, any_jobs, board):
        assert found(any_jobs, "q=&skill=&status=&client_id=&budget_type=&min_budget=&max_budget=") == ids(
            board, "app", "api", "logo", "shop")

    def test_pages_through_a_cursor(self, any_jobs, board):
        first = any_jobs.http.get("/jobs?limit=3").json
        rest = any_jobs.http.get(f"/jobs?limit=3&cursor={first['next_cursor']}").json

        assert [j["id"] for j in first["items"] + rest["items"]] == ids(board, "app", "api", "logo", "shop")
        assert rest["next_cursor"] is None

    @pytest.mark.parametrize("query", ["status=deleted", "budget_type=barter", "client_id=nobody", "min_budget=-1",
                                       "min_budget=10&max_budget=5", "limit=101", "cursor=garbage"])
    def test_bad_filters_are_422(self, any_jobs, query):
        assert any_jobs.http.get(f"/jobs?{query}").status_code == 422


class TestSearchUsesTheIndex:
    def test_the_word_search_is_answered_by_the_full_text_index(self, any_jobs, board):
        db = any_jobs.harness.runtime.db
        dialect = db.engine.dialect.name
        query = postings.search(dialect, q="shop", status="any")
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        with db.transaction() as session:
            if dialect == "sqlite":
                plan = [row[-1] for row in session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))]
                assert any("VIRTUAL TABLE" in line for line in plan), plan
            else:
                session.execute(sa.text("SET LOCAL enable_seqscan = off"))
                plan = session.execute(sa.text(f"EXPLAIN {sql}")).scalars().all()
                assert any("ix_jobs_search" in line for line in plan), plan
