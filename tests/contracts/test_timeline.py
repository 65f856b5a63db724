"""A contract's timeline: every change of status of it and its milestones, first to last, with who
acted, why, and what the money did as payments reported it; written in the transaction of the change."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.contracts import sagas
from services.contracts.sagas import locked_contract
from services.contracts.states import CONTRACT
from tests.contracts.helpers import Deal
from tests.support import new_id


def timeline(deal: Deal, user_id: str | None = None, roles=("client", "freelancer"), **params):
    return deal.desk.http.get(f"/contracts/{deal.id}/timeline", query_string=params,
                              headers=deal.desk.headers(user_id or deal.client, roles))


def whole_timeline(deal: Deal, limit: int = 100) -> list[dict]:
    """Every entry, following the cursor page by page."""
    entries, cursor = [], None
    while True:
        response = timeline(deal, limit=limit, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        assert len(page["items"]) <= limit
        entries += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


def story(deal: Deal) -> list[tuple]:
    """Each entry as (what, from, to, actor kind, actor id, cause, money): `what` is "contract" or the
    milestone's index."""
    milestones = [deal.milestone_id(i) for i in range(len(deal.hire["milestones"]))]
    return [("contract" if e["milestone_id"] is None else milestones.index(e["milestone_id"]), e["from_status"],
             e["to_status"], e["actor"]["kind"], e["actor"]["id"], e["cause_id"], e["money"])
            for e in whole_timeline(deal)]


def hired(contracts, amounts=(10_000,)) -> tuple[Deal, str]:
    """A hire published as jobs would; the deal once its contract exists, and the hire's event id."""
    data = contracts.hire_data(amounts)
    envelope = contracts.harness.publish("jobs.hire.requested", data, correlation_id=data["contract_id"])
    deal = Deal(contracts, data)
    deal.wait_for("pending_funding")
    return deal, envelope.id


def request_id(response) -> str:
    assert response.status_code < 300, response.get_json()
    return response.headers["X-Request-ID"]


class TestHireToRelease:
    def test_the_timeline_tells_every_step_with_its_actor_cause_and_money(self, make_any_contracts):
        contracts = make_any_contracts()
        deal, hire = hired(contracts)
        funded = deal.funded(0)
        deal.wait_for("offered")
        accepted = request_id(deal.post("accept", deal.freelancer))
        submitted = request_id(deal.act(0, "submit", deal.freelancer, {"message": "Done"}))
        approved = request_id(deal.act(0, "approve", deal.client))
        released = deal.released(0)
        deal.wait_for("completed")

        available_at = released.data["available_at"]
        assert story(deal) == [
            ("contract", None, "pending_funding", "event", "jobs.hire.requested", hire, {}),
            (0, None, "pending", "event", "jobs.hire.requested", hire, {}),
            (0, "pending", "funding", "event", "jobs.hire.requested", hire, {}),
            (0, "funding", "funded", "event", "payments.escrow.funded", funded.id,
             {"amount": 10_000, "client_fee": 500}),
            ("contract", "pending_funding", "offered", "event", "payments.escrow.funded", funded.id, {}),
            ("contract", "offered", "active", "user", deal.freelancer, accepted, {}),
            (0, "funded", "submitted", "user", deal.freelancer, submitted, {}),
            (0, "submitted", "approved", "user", deal.client, approved, {}),
            (0, "approved", "released", "event", "payments.escrow.released", released.id,
             {"amount": 10_000, "freelancer_fee": 1_000, "available_at": available_at}),
            ("contract", "active", "completed", "event", "payments.escrow.released", released.id, {}),
        ]
        entries = whole_timeline(deal)
        assert len({e["id"] for e in entries}) == len(entries)
        assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
        assert {e["correlation_id"] for e in entries if e["actor"]["kind"] == "event"} == {deal.id}
        assert [e["subject"] for e in entries[:2]] == ["contract", "milestone"]

    def test_a_repeated_event_adds_nothing(self, contracts):
        deal, _ = hired(contracts)
        funded = deal.funded(0)
        deal.wait_for("offered")
        before = whole_timeline(deal)
        contracts.harness.deliver(funded)
        assert whole_timeline(deal) == before


class TestCancellationWithRefund:
    def test_the_refund_and_the_end_are_told_with_the_money_that_came_back(self, make_any_contracts):
        contracts = make_any_contracts()
        deal, hire = hired(contracts, amounts=(10_000, 4_000))
        funded = deal.funded(0)
        deal.wait_for("offered")
        accepted = request_id(deal.post("accept", deal.freelancer))
        cancelled = request_id(deal.post("cancel", deal.client, {"note": "No longer needed"}))
        refunded = deal.refunded(0)
        deal.wait_for("cancelled")

        assert story(deal) == [
            ("contract", None, "pending_funding", "event", "jobs.hire.requested", hire, {}),
            (0, None, "pending", "event", "jobs.hire.requested", hire, {}),
            (1, None, "pending", "event", "jobs.hire.requested", hire, {}),
            (0, "pending", "funding", "event", "jobs.hire.requested", hire, {}),
            (0, "funding", "funded", "event", "payments.escrow.funded", funded.id,
             {"amount": 10_000, "client_fee": 500}),
            ("contract", "pending_funding", "offered", "event", "payments.escrow.funded", funded.id, {}),
            ("contract", "offered", "active", "user", deal.freelancer, accepted, {}),
            ("contract", "active", "cancelling", "user", deal.client, cancelled, {}),
            (0, "funded", "refunding", "user", deal.client, cancelled, {}),
            (1, "pending", "cancelled", "user", deal.client, cancelled, {}),
            (0, "refunding", "refunded", "event", "payments.escrow.refunded", refunded.id,
             {"amount": 10_000, "client_fee": 500}),
            ("contract", "cancelling", "cancelled", "event", "payments.escrow.refunded", refunded.id, {}),
        ]

    def test_an_offer_left_to_expire_is_ended_by_its_timer(self, make_contracts):
        contracts = make_contracts(offer_ttl=timedelta(milliseconds=300))
        deal, _ = hired(contracts)
        deal.funded(0)
        deal.wait_for("cancelling", timeout=15)
        ended = [entry for entry in whole_timeline(deal) if entry["to_status"] in ("cancelling", "refunding")]
        assert [(e["subject"], e["actor"]["kind"], e["actor"]["id"]) for e in ended] == [
            ("contract", "timer", "contracts.offer.expire"), ("milestone", "timer", "contracts.offer.expire")]
        assert ended[0]["cause_id"] == ended[1]["cause_id"] and ended[0]["cause_id"].isdigit()


class TestPaging:
    def test_pages_follow_each_other_first_to_last(self, contracts):
        deal = contracts.active(amounts=(10_000, 2_000, 3_000))
        deal.submitted_and_approved(0)
        everything = whole_timeline(deal)
        assert len(everything) == 10  # made (the contract and 3 milestones), funding, funded, offered, ...
        first = timeline(deal).get_json()
        assert first["items"] == everything and first["next_cursor"] is None
        assert whole_timeline(deal, limit=2) == everything
        page = timeline(deal, limit=4).get_json()
        assert page["items"] == everything[:4]
        assert timeline(deal, limit=4, cursor=page["next_cursor"]).get_json()["items"] == everything[4:8]
        last = timeline(deal, limit=9).get_json()
        assert timeline(deal, cursor=last["next_cursor"]).get_json() == {"items": everything[9:], "next_cursor": None}

    @pytest.mark.parametrize("params", [{"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 101}])
    def test_a_bad_page_is_422_naming_the_field(self, contracts, params):
        deal = contracts.offered()
        response = timeline(deal, **params)
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == set(params)


class TestWhoMaySee:
    def test_the_parties_and_admins_see_it_and_strangers_are_told_it_does_not_exist(self, contracts):
        deal = contracts.offered()
        assert timeline(deal, deal.client).status_code == 200
        assert timeline(deal, deal.freelancer).status_code == 200
        admin = timeline(deal, new_id(), roles=("admin",))
        assert admin.status_code == 200 and admin.get_json() == timeline(deal).get_json()
        stranger = timeline(deal, new_id())
        assert stranger.status_code == 404 and "timeline" not in stranger.get_data(as_text=True).lower()
        assert deal.desk.http.get(f"/contracts/{new_id()}/timeline", headers=deal.desk.headers(deal.client)
                                  ).status_code == 404
        assert deal.desk.http.get(f"/contracts/{deal.id}/timeline").status_code == 401


class TestOnlyWhatHappened:
    def test_a_change_rolled_back_leaves_no_row(self, contracts):
        deal = contracts.offered()
        before = whole_timeline(deal)
        runtime = contracts.harness.runtime
        with pytest.raises(RuntimeError):
            with runtime.unit_of_work() as uow:
                sagas.accept(uow, locked_contract(uow, deal.id))
                uow.session.flush()
                raise RuntimeError("the process dies before the commit")
        assert deal.contract()["status"] == "offered"
        assert whole_timeline(deal) == before

    def test_a_savepoint_undone_takes_its_changes_with_it(self, contracts):
        deal = contracts.offered()
        before = whole_timeline(deal)
        with contracts.harness.runtime.unit_of_work() as uow:
            contract = locked_contract(uow, deal.id)
            with pytest.raises(RuntimeError), uow.savepoint():
                sagas.begin_cancellation(uow, contract, "withdrawn")
                uow.session.flush()
                raise RuntimeError("this part fails")
            with pytest.raises(RuntimeError), uow.savepoint():
                CONTRACT.apply(contract, "cancelling")  # not flushed yet when it fails
                raise RuntimeError("this part fails too")
            sagas.accept(uow, contract)  # what the transaction goes on to do is all that is told
        assert deal.contract()["status"] == "active"
        after = whole_timeline(deal)
        assert after[:-1] == before
        assert (after[-1]["from_status"], after[-1]["to_status"]) == ("offered", "active")


class TestAppendOnly:
    @pytest.mark.parametrize("statement", ["UPDATE contract_history SET to_status = 'released'",
                                           "DELETE FROM contract_history"])
    def test_the_database_refuses_to_change_or_delete_an_entry(self, make_any_contracts, statement):
        contracts = make_any_contracts()
        deal = contracts.offered()
        before = whole_timeline(deal)
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with contracts.harness.runtime.db.transaction() as session:
                session.execute(sa.text(statement))
        assert whole_timeline(deal) == before


class TestDocumented:
    def test_the_api_document_describes_the_timeline_and_its_entries(self, contracts):
        spec = contracts.http.get("/openapi.json").get_json()
        operation = spec["paths"]["/contracts/{contract_id}/timeline"]["get"]
        assert {"limit", "cursor"} <= {parameter["name"] for parameter in operation["parameters"]}
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        entry = spec["components"]["schemas"][page]["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[1]
        assert set(spec["components"]["schemas"][entry]["properties"]) == {
            "id", "contract_id", "milestone_id", "subject", "from_status", "to_status", "at", "actor", "cause_id",
            "correlation_id", "money"}
