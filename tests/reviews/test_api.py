"""The reviews API: who may review, what a review must look like, what lists and summaries show."""
from __future__ import annotations

import pytest

from tests.support import new_id


class TestSubmitReview:
    def test_a_party_of_a_completed_contract_reviews_the_other(self, any_reviews):
        contract = any_reviews.contract_ended()

        response = any_reviews.submit(contract.client_id, contract.id, rating=4, comment="Great work.")

        assert response.status_code == 201
        review = response.json
        assert set(review) == {"id", "contract_id", "reviewer_id", "reviewee_id", "rating", "comment", "status",
                               "created_at", "published_at"}
        assert review | {"id": None, "created_at": None} == {
            "id": None, "contract_id": contract.id, "reviewer_id": contract.client_id,
            "reviewee_id": contract.freelancer_id, "rating": 4, "comment": "Great work.", "status": "hidden",
            "created_at": None, "published_at": None}
        assert review["created_at"].endswith("Z")

    def test_the_comment_is_optional(self, reviews):
        contract = reviews.contract_ended()

        assert reviews.reviewed(contract.freelancer_id, contract.id)["comment"] == ""

    def test_a_contract_cancelled_after_a_release_may_be_reviewed(self, reviews):
        contract = reviews.contract_ended("cancelled", released_amount=1)

        assert reviews.submit(contract.client_id, contract.id).status_code == 201

    def test_a_contract_cancelled_before_any_release_may_not(self, reviews):
        contract = reviews.contract_ended("cancelled", released_amount=0)

        response = reviews.submit(contract.client_id, contract.id)

        assert response.status_code == 409
        assert reviews.window(contract.id) is None

    def test_an_unknown_contract_is_a_conflict_not_an_error(self, any_reviews):
        response = any_reviews.submit(new_id(), new_id())

        assert response.status_code == 409
        assert response.headers["Content-Type"] == "application/problem+json"
        assert "has not ended" in response.json["detail"] and "not known" in response.json["detail"]

    def test_a_stranger_may_not_review(self, any_reviews):
        contract = any_reviews.contract_ended()

        response = any_reviews.submit(new_id(), contract.id)

        assert response.status_code == 403
        assert any_reviews.of_contract(contract.client_id, contract.id).json["items"] == []

    def test_a_token_is_needed(self, reviews):
        contract = reviews.contract_ended()

        response = reviews.client.post("/reviews", json={"contract_id": contract.id, "rating": 5})

        assert response.status_code == 401

    @pytest.mark.parametrize("rating", [0, 6, -1, 4.5, 5.0, "5", True, None])
    def test_the_rating_is_a_whole_number_from_1_to_5(self, reviews, rating):
        contract = reviews.contract_ended()

        response = reviews.submit(contract.client_id, contract.id, rating=rating)

        assert response.status_code == 422
        assert list(response.json["errors"]) == ["rating"]

    @pytest.mark.parametrize("rating", [1, 5])
    def test_the_bounds_are_ratings(self, reviews, rating):
        contract = reviews.contract_ended()

        assert reviews.reviewed(contract.client_id, contract.id, rating=rating)["rating"] == rating

    def test_the_comment_is_at_most_5000_characters(self, reviews):
        contract = reviews.contract_ended()

        too_long = reviews.submit(contract.client_id, contract.id, comment="x" * 5001)
        longest = reviews.submit(contract.client_id, contract.id, comment="x" * 5000)

        assert too_long.status_code == 422 and list(too_long.json["errors"]) == ["comment"]
        assert longest.status_code == 201

    @pytest.mark.parametrize("body, field", [
        ({"rating": 5}, "contract_id"),
        ({"contract_id": "not-a-uuid", "rating": 5}, "contract_id"),
        ({"contract_id": None, "rating": 5}, "contract_id"),
        ({"contract_id": "{contract}", "rating": 5, "status": "published"}, "status"),
        ({"contract_id": "{contract}", "rating": 5, "comment": 7}, "comment"),
    ])
    def test_a_malformed_body_is_unprocessable(self, reviews, body, field):
        contract = reviews.contract_ended()
        body = {key: contract.id if value == "{contract}" else value for key, value in body.items()}

        response = reviews.client.post("/reviews", json=body, headers=reviews.harness.headers(contract.client_id))

        assert response.status_code == 422
        assert field in response.json["errors"]

    def test_validation_comes_before_existence(self, reviews):
        response = reviews.submit(new_id(), new_id(), rating=9)

        assert response.status_code == 422


class TestListReviewsOfAContract:
    def test_a_stranger_is_told_it_does_not_exist(self, any_reviews):
        contract = any_reviews.contract_ended()
        any_reviews.reviewed(contract.client_id, contract.id)
        any_reviews.reviewed(contract.freelancer_id, contract.id)

        response = any_reviews.of_contract(new_id(), contract.id)

        assert response.status_code == 404

    def test_an_unknown_contract_is_not_found(self, reviews):
        assert reviews.of_contract(new_id(), new_id()).status_code == 404

    def test_a_token_is_needed(self, reviews):
        contract = reviews.contract_ended()

        assert reviews.client.get("/reviews", query_string={"contract_id": contract.id}).status_code == 401

    @pytest.mark.parametrize("query", [{}, {"user_id": "{user}", "contract_id": "{contract}"}, {"user_id": "nope"}])
    def test_exactly_one_of_user_and_contract_is_given(self, reviews, query):
        contract = reviews.contract_ended()
        query = {key: {"{user}": contract.client_id, "{contract}": contract.id}.get(value, value)
                 for key, value in query.items()}

        response = reviews.client.get("/reviews", query_string=query, headers=reviews.harness.headers(contract.client_id))

        assert response.status_code == 422


class TestListReviewsAboutAUser:
    def test_published_reviews_come_newest_first_a_page_at_a_time(self, any_reviews):
        freelancer = new_id()
        ids = []
        for rating in (3, 4, 5):
            contract = any_reviews.contract_ended(freelancer_id=freelancer)
            ids.append(any_reviews.reviewed(contract.client_id, contract.id, rating=rating)["id"])
            any_reviews.reviewed(freelancer, contract.id)

        first = any_reviews.about(freelancer, limit=2).json
        second = any_reviews.about(freelancer, limit=2, cursor=first["next_cursor"]).json

        assert [r["id"] for r in first["items"] + second["items"]] == ids[::-1]
        assert second["next_cursor"] is None
        assert {r["reviewee_id"] for r in first["items"] + second["items"]} == {freelancer}

    def test_anyone_may_read_them(self, reviews):
        contract = reviews.contract_ended()
        reviews.reviewed(contract.client_id, contract.id)
        reviews.reviewed(contract.freelancer_id, contract.id)

        response = reviews.client.get("/reviews", query_string={"user_id": contract.freelancer_id})

        assert response.status_code == 200 and len(response.json["items"]) == 1

    def test_hidden_reviews_never_appear(self, reviews):
        contract = reviews.contract_ended()
        reviews.reviewed(contract.client_id, contract.id)

        assert reviews.about(contract.freelancer_id).json == {"items": [], "next_cursor": None}


class TestSummary:
    def test_the_average_is_over_published_reviews_rounded_to_two_decimals(self, any_reviews):
        freelancer = new_id()
        for rating in (5, 4, 4):
            contract = any_reviews.contract_ended(freelancer_id=freelancer)
            any_reviews.reviewed(contract.client_id, contract.id, rating=rating)
            any_reviews.reviewed(freelancer, contract.id)
        pending = any_reviews.contract_ended(freelancer_id=freelancer)
        any_reviews.reviewed(pending.client_id, pending.id, rating=1)

        assert any_reviews.summary(freelancer) == {"user_id": freelancer, "average_rating": 4.33, "review_count": 3}

    def test_a_user_nobody_reviewed_has_no_average(self, reviews):
        user = new_id()

        assert reviews.summary(user) == {"user_id": user, "average_rating": None, "review_count": 0}

    def test_an_id_that_is_not_a_uuid_is_not_found(self, reviews):
        assert reviews.client.get("/reviews/summary/nope").status_code == 404
