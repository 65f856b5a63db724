"""Milestone edits: the client changes or deletes a pending milestone of an active contract, and only that."""
from __future__ import annotations

from tests.support import new_id


def patch(deal, index: int, body: dict, user_id: str | None = None):
    return deal.desk.http.patch(f"/contracts/{deal.id}/milestones/{deal.milestone_id(index)}", json=body,
                                headers=deal.desk.headers(user_id or deal.client))


def delete(deal, index: int, user_id: str | None = None):
    return deal.desk.http.delete(f"/contracts/{deal.id}/milestones/{deal.milestone_id(index)}",
                                 headers=deal.desk.headers(user_id or deal.client))


class TestEdits:
    def test_the_client_edits_a_pending_milestone(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active(amounts=(10_000, 5_000))
        response = patch(deal, 1, {"title": "Design", "amount": 6_000, "due_date": "2027-02-01"})
        assert response.status_code == 200
        assert (response.get_json()["title"], response.get_json()["amount"]) == ("Design", 6_000)
        assert deal.contract()["total_amount"] == 16_000

    def test_what_is_refused(self, contracts):
        deal = contracts.active(amounts=(10_000, 5_000))
        assert patch(deal, 0, {"title": "Funded already"}).status_code == 409
        assert patch(deal, 1, {"amount": 499}).status_code == 422
        assert patch(deal, 1, {}).status_code == 422
        assert patch(deal, 1, {"title": "x"}, deal.freelancer).status_code == 403
        assert patch(deal, 1, {"title": "x"}, new_id()).status_code == 404
        assert delete(deal, 0).status_code == 409
        assert delete(deal, 1, deal.freelancer).status_code == 403

    def test_a_deleted_milestone_is_gone_and_the_rest_can_complete(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active(amounts=(10_000, 5_000))
        deal.submitted_and_approved(0)
        deal.released(0)
        deal.wait_for("released", index=0)
        assert deal.contract()["status"] == "active"
        gone = deal.milestone_id(1)

        assert delete(deal, 1).status_code == 204

        contract = deal.wait_for("completed")
        assert [m["id"] for m in contract["milestones"]] == [deal.milestone_id(0)]
        missing = deal.desk.http.post(f"/contracts/{deal.id}/milestones/{gone}/fund",
                                      headers=deal.desk.headers(deal.client))
        assert missing.status_code == 404
