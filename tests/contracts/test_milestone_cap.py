"""Bounded: a contract lists at most 20 milestones, however they came (the hire, or added later)."""
from __future__ import annotations

from services.contracts.sagas import MAX_MILESTONES
from tests.contracts.test_races import at_once


class TestAtMostTwentyMilestones:
    def test_adding_a_21st_is_409_problem_json_and_adds_nothing(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active(amounts=(1_000,) * 19)
        assert deal.post("milestones", deal.client, {"title": "The 20th", "amount": 1_000}).status_code == 201

        response = deal.post("milestones", deal.client, {"title": "The 21st", "amount": 1_000})

        assert response.status_code == 409
        assert response.mimetype == "application/problem+json"
        assert "at most 20 milestones" in response.get_json()["detail"]
        assert len(deal.contract()["milestones"]) == MAX_MILESTONES == 20

    def test_a_hire_of_twenty_cannot_grow(self, contracts):
        deal = contracts.active(amounts=(1_000,) * 20)
        assert len(deal.contract()["milestones"]) == 20
        assert deal.post("milestones", deal.client, {"title": "More", "amount": 1_000}).status_code == 409

    def test_racing_adds_stop_at_twenty(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active(amounts=(1_000,) * 18)

        codes = at_once(5, lambda: deal.post("milestones", deal.client, {"title": "More", "amount": 1_000}))

        assert codes == [201, 201, 409, 409, 409]
        assert len(deal.contract()["milestones"]) == 20
