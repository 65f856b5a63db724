"""Double-blind reviews: hidden until both parties have reviewed or the window closes."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.reviews import SERVICE
from shared.db import utcnow
from shared.tables import TimerRow
from shared.timers import TimerLoop
from tests.support import eventually


def parties(contract, first: str) -> tuple[str, str]:
    """(first reviewer, second reviewer) of the contract."""
    return (contract.client_id, contract.freelancer_id) if first == "client" else (contract.freelancer_id, contract.client_id)


@pytest.mark.parametrize("first", ["client", "freelancer"])
class TestBothPartiesReview:
    def test_the_first_review_stays_hidden_from_everyone_but_its_author(self, any_reviews, first):
        contract = any_reviews.contract_ended()
        author, other = parties(contract, first)

        review = any_reviews.reviewed(author, contract.id, rating=2, comment="Slow to answer.")

        assert review["status"] == "hidden" and review["published_at"] is None
        assert review["reviewer_id"] == author and review["reviewee_id"] == other
        assert [r["id"] for r in any_reviews.of_contract(author, contract.id).json["items"]] == [review["id"]]
        assert any_reviews.of_contract(other, contract.id).json["items"] == []
        assert any_reviews.about(other).json["items"] == []
        assert any_reviews.summary(other) == {"user_id": other, "average_rating": None, "review_count": 0}
        assert any_reviews.published_events(contract.id) == []

    def test_the_second_review_publishes_both_at_once(self, any_reviews, first):
        contract = any_reviews.contract_ended()
        author, other = parties(contract, first)
        hidden = any_reviews.reviewed(author, contract.id, rating=4)

        second = any_reviews.reviewed(other, contract.id, rating=5, comment="Clear brief, paid on time.")

        assert second["status"] == "published"
        seen = {r["id"]: r for r in any_reviews.of_contract(author, contract.id).json["items"]}
        assert seen == {r["id"]: r for r in any_reviews.of_contract(other, contract.id).json["items"]}
        assert set(seen) == {hidden["id"], second["id"]}
        assert {r["status"] for r in seen.values()} == {"published"}
        assert seen[hidden["id"]]["published_at"] == seen[second["id"]]["published_at"] == second["published_at"]
        assert [r["id"] for r in any_reviews.about(other).json["items"]] == [hidden["id"]]
        assert any_reviews.summary(author) == {"user_id": author, "average_rating": 5.0, "review_count": 1}
        [event] = any_reviews.published_events(contract.id)
        assert sorted(event["review_ids"]) == sorted(seen)

    def test_a_party_reviews_only_once(self, any_reviews, first):
        contract = any_reviews.contract_ended()
        author, other = parties(contract, first)
        any_reviews.reviewed(author, contract.id)

        again = any_reviews.submit(author, contract.id, rating=1)

        assert again.status_code == 409
        assert "already reviewed" in again.json["detail"]
        any_reviews.reviewed(other, contract.id)
        assert any_reviews.submit(author, contract.id, rating=1).status_code == 409


@pytest.fixture
def short_window(make_reviews):
    """Reviews with a one-second window and a running worker that closes it."""
    reviews = make_reviews(review_window=timedelta(seconds=1))
    reviews.harness.start_worker()
    return reviews


# The window is a second; a worker on a busy machine may back off a failed round first (1 s, 2 s, 4 s).
CLOSES_WITHIN = 15


def closed(reviews, contract_id):
    return lambda: (window := reviews.window(contract_id)) is not None and window.status == "closed"


class TestWindowCloses:
    @pytest.mark.parametrize("first", ["client", "freelancer"])
    def test_a_lone_review_is_published_when_the_window_closes(self, short_window, first):
        contract = short_window.contract_ended()
        author, other = parties(contract, first)
        review = short_window.reviewed(author, contract.id, rating=3)

        eventually(closed(short_window, contract.id), timeout=CLOSES_WITHIN)

        [published] = short_window.about(other).json["items"]
        assert published["id"] == review["id"] and published["status"] == "published"
        assert published["published_at"] is not None
        assert short_window.of_contract(other, contract.id).json["items"] == [published]
        assert short_window.summary(other) == {"user_id": other, "average_rating": 3.0, "review_count": 1}
        assert short_window.published_events(contract.id) == [{"contract_id": contract.id, "review_ids": [review["id"]]}]

    def test_a_window_nobody_used_closes_with_nothing_to_publish(self, short_window):
        contract = short_window.contract_ended()

        eventually(closed(short_window, contract.id), timeout=CLOSES_WITHIN)

        assert short_window.published_events(contract.id) == []
        assert short_window.of_contract(contract.client_id, contract.id).json["items"] == []
        assert short_window.timers(contract.id) == []

    def test_no_review_is_taken_once_the_window_has_closed(self, short_window):
        contract = short_window.contract_ended()
        short_window.reviewed(contract.client_id, contract.id)
        eventually(closed(short_window, contract.id), timeout=CLOSES_WITHIN)

        late = short_window.submit(contract.freelancer_id, contract.id)

        assert late.status_code == 409
        assert "closed" in late.json["detail"]

    def test_the_timer_is_moot_once_both_reviews_are_published(self, reviews):
        contract = reviews.contract_ended()
        reviews.reviewed(contract.client_id, contract.id)
        published = reviews.reviewed(contract.freelancer_id, contract.id)["published_at"]

        with reviews.harness.runtime.db.transaction() as session:
            session.execute(sa.update(TimerRow).where(TimerRow.key == contract.id).values(due_at=utcnow()))
        assert TimerLoop(reviews.harness.runtime, SERVICE.timers).fire_due() == 1

        assert reviews.timers(contract.id) == []
        assert len(reviews.published_events(contract.id)) == 1
        assert {r["published_at"] for r in reviews.about(contract.client_id).json["items"]} == {published}

    def test_a_window_past_its_time_takes_no_review_even_before_the_timer_fires(self, make_reviews):
        reviews = make_reviews(review_window=timedelta(milliseconds=1))
        contract = reviews.contract_ended()

        assert reviews.submit(contract.client_id, contract.id).status_code == 409


class TestConcurrentSubmissions:
    def test_both_parties_at_once_publish_exactly_once(self, reviews_pg):
        reviews = reviews_pg
        for _ in range(5):
            contract = reviews.contract_ended()
            start, statuses = threading.Barrier(2), []

            def review(user_id):
                client = reviews.harness.app.test_client()
                headers = reviews.harness.headers(user_id)
                start.wait()
                response = client.post("/reviews", json={"contract_id": contract.id, "rating": 4}, headers=headers)
                statuses.append(response.status_code)

            threads = [threading.Thread(target=review, args=(user,)) for user in (contract.client_id, contract.freelancer_id)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)

            assert statuses == [201, 201]
            assert len(reviews.published_events(contract.id)) == 1
            items = reviews.of_contract(contract.client_id, contract.id).json["items"]
            assert [r["status"] for r in items] == ["published", "published"]
