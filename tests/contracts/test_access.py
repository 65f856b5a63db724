"""Who may see and do what: parties see their contracts, each party does its own steps."""
from __future__ import annotations

from tests.support import new_id


class TestSeeing:
    def test_only_the_parties_and_admins_see_a_contract(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.offered()
        assert deal.get(deal.client).status_code == 200
        assert deal.get(deal.freelancer).status_code == 200
        assert deal.get(new_id(), roles=("admin",)).status_code == 200
        stranger = deal.get(new_id())
        assert stranger.status_code == 404
        assert stranger.content_type == "application/problem+json"
        assert contracts.http.get(f"/contracts/{new_id()}", headers=contracts.headers(deal.client)).status_code == 404
        assert contracts.http.get(f"/contracts/{deal.id}").status_code == 401

    def test_a_stranger_gets_404_for_every_action(self, contracts_live):
        deal = contracts_live.active()
        stranger = new_id()
        assert deal.post("accept", stranger).status_code == 404
        assert deal.post("cancel", stranger).status_code == 404
        assert deal.act(0, "approve", stranger).status_code == 404

    def test_the_contract_json_has_every_field(self, contracts_live):
        contract = contracts_live.offered().contract()
        assert set(contract) >= {"id", "job_id", "proposal_id", "client_id", "freelancer_id", "title", "currency",
                                 "status", "client_fee_bps", "freelancer_fee_bps", "milestones", "total_amount",
                                 "released_amount", "offer_expires_at", "created_at", "activated_at", "ended_at",
                                 "end_reason", "end_note"}
        assert set(contract["milestones"][0]) >= {"id", "contract_id", "title", "amount", "due_date", "status",
                                                  "submitted_at", "auto_approve_at", "last_error", "funded_at",
                                                  "released_at"}
        assert contract["created_at"].endswith("Z") and contract["offer_expires_at"].endswith("Z")


class TestDoing:
    def test_only_the_client_funds_approves_requests_changes_adds_and_withdraws(self, contracts_live):
        deal = contracts_live.active(amounts=(10_000, 5_000))
        deal.act(0, "submit", deal.freelancer, {"message": "Done"})
        for response in (deal.act(1, "fund", deal.freelancer), deal.act(0, "approve", deal.freelancer),
                         deal.act(0, "request-changes", deal.freelancer, {"message": "Hm"}),
                         deal.post("milestones", deal.freelancer, {"title": "More", "amount": 900})):
            assert response.status_code == 403, response.get_json()
        offer = contracts_live.offered()
        assert offer.post("cancel", offer.freelancer).status_code == 409

    def test_only_the_freelancer_accepts_declines_and_submits(self, contracts_live):
        deal = contracts_live.offered()
        assert deal.post("accept", deal.client).status_code == 403
        assert deal.post("decline", deal.client).status_code == 403
        assert deal.post("accept", new_id(), roles=("admin",)).status_code == 403
        assert deal.post("accept", deal.freelancer).status_code == 200
        assert deal.act(0, "submit", deal.client, {"message": "Done"}).status_code == 403

    def test_validation_comes_before_existence(self, contracts_live):
        deal = contracts_live.active()
        response = contracts_live.http.post(f"/contracts/{new_id()}/milestones/{new_id()}/submit", json={"message": ""},
                                  headers=contracts_live.headers(deal.freelancer))
        assert response.status_code == 422
        assert deal.post("milestones", deal.client, {"title": "x", "amount": 600, "extra": 1}).status_code == 422
        assert deal.act(0, "fund", deal.client).status_code == 409
        assert contracts_live.http.post(f"/contracts/{deal.id}/milestones/{new_id()}/fund",
                              headers=contracts_live.headers(deal.client)).status_code == 404


class TestListing:
    def test_lists_the_callers_contracts_by_role_and_status(self, make_any_contracts):
        contracts = make_any_contracts()
        me = new_id()
        as_client = [contracts.offered(client_id=me) for _ in range(2)]
        as_freelancer = contracts.active(freelancer_id=me)
        contracts.offered()  # someone else's

        def ids(query: str = "") -> list[str]:
            response = contracts.http.get(f"/contracts{query}", headers=contracts.headers(me))
            assert response.status_code == 200
            return [c["id"] for c in response.get_json()["items"]]

        assert set(ids()) == {d.id for d in as_client} | {as_freelancer.id}
        assert set(ids("?role=client")) == {d.id for d in as_client}
        assert ids("?role=freelancer") == [as_freelancer.id]
        assert ids("?status=active") == [as_freelancer.id]
        assert contracts.http.get("/contracts?status=bogus", headers=contracts.headers(me)).status_code == 422

    def test_pages_through_newest_first(self, contracts_live):
        me = new_id()
        made = [contracts_live.hire(client_id=me).id for _ in range(3)]
        first = contracts_live.http.get("/contracts?limit=2", headers=contracts_live.headers(me)).get_json()
        assert first["next_cursor"]
        second = contracts_live.http.get(f"/contracts?limit=2&cursor={first['next_cursor']}",
                                         headers=contracts_live.headers(me)).get_json()
        assert second["next_cursor"] is None
        assert [c["id"] for c in first["items"] + second["items"]] == list(reversed(made))


class TestDocs:
    def test_the_openapi_document_lists_every_endpoint(self, contracts):
        spec = contracts.http.get("/openapi.json").get_json()
        assert {"/contracts", "/contracts/{contract_id}", "/contracts/{contract_id}/accept",
                "/contracts/{contract_id}/decline", "/contracts/{contract_id}/cancel",
                "/contracts/{contract_id}/milestones",
                "/contracts/{contract_id}/milestones/{milestone_id}/fund",
                "/contracts/{contract_id}/milestones/{milestone_id}/submit",
                "/contracts/{contract_id}/milestones/{milestone_id}/request-changes",
                "/contracts/{contract_id}/milestones/{milestone_id}/approve"} <= set(spec["paths"])
