"""Time on an hourly contract: who logs it, which period it goes to, the day's total, the weekly limit,
the edit window, pauses and limit changes; on both databases."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from shared.tables import TimerRow
from tests.contracts.hourly import LONG, SHORT, hourly_active, hourly_hire, today
from tests.support import eventually, new_id


class TestTheHourlyContract:
    def test_an_hourly_hire_is_offered_at_once_with_no_money_up_front(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_hire(desk, rate=6_000, limit=10)
        contract = deal.contract()
        assert (contract["type"], contract["status"], contract["hourly_rate"], contract["weekly_limit_hours"]) == (
            "hourly", "offered", 6_000, 10)
        assert (contract["milestones"], contract["total_amount"], contract["pause_reasons"]) == ([], 0, [])
        assert contract["next_weekly_limit_hours"] is None and contract["next_weekly_limit_from"] is None
        assert not deal.emitted("contracts.milestone.funding_requested")
        created = deal.emitted("contracts.contract.created")[0]
        assert (created["type"], created["hourly_rate"], created["weekly_limit_hours"]) == ("hourly", 6_000, 10)

    def test_a_limit_change_applies_from_the_next_period(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_active(desk, limit=10)
        response = deal.desk.http.patch(f"/contracts/{deal.id}", json={"weekly_limit_hours": 20},
                                        headers=desk.headers(deal.client))
        assert response.status_code == 200, response.get_json()
        changed = response.get_json()
        assert (changed["weekly_limit_hours"], changed["next_weekly_limit_hours"]) == (10, 20)
        assert datetime.fromisoformat(changed["next_weekly_limit_from"].replace("Z", "+00:00")).weekday() == 0
        refused = deal.desk.http.patch(f"/contracts/{deal.id}", json={"weekly_limit_hours": 81},
                                       headers=desk.headers(deal.client))
        assert refused.status_code == 422 and "weekly_limit_hours" in refused.get_json()["errors"]
        assert deal.desk.http.patch(f"/contracts/{deal.id}", json={"weekly_limit_hours": 5},
                                    headers=desk.headers(deal.freelancer)).status_code == 403

    def test_the_client_pauses_and_resumes_and_a_paused_contract_takes_no_time(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_active(desk)
        assert deal.post("pause", deal.client).get_json()["pause_reasons"] == ["client"]
        assert deal.post("pause", deal.client).status_code == 409
        assert deal.log(30).status_code == 409
        assert deal.post("resume", deal.freelancer).status_code == 403
        resumed = deal.post("resume", deal.client)
        assert (resumed.status_code, resumed.get_json()["status"]) == (200, "active")
        assert deal.post("resume", deal.client).status_code == 409
        assert [e["pause_reasons"] for e in deal.emitted("contracts.contract.paused")] == [["client"]]
        assert len(deal.emitted("contracts.contract.resumed")) == 1


class TestTimeEntries:
    def test_entries_are_billed_in_order_up_to_the_weekly_limit(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_active(desk, limit=2)
        made = [deal.log(minutes).get_json() for minutes in (60, 45, 30, 20)]
        assert [entry["billable_minutes"] for entry in made] == [60, 45, 15, 0]
        listed = deal.read("time-entries").get_json()["items"]
        assert [(e["minutes"], e["billable_minutes"]) for e in listed] == [(60, 60), (45, 45), (30, 15), (20, 0)]
        sheet = deal.read("timesheets/current").get_json()
        assert (sheet["status"], sheet["limit_minutes"], sheet["total_minutes"], sheet["billable_minutes"],
                sheet["amount"], sheet["invoice_id"]) == ("open", 120, 155, 120, 12_000, None)
        assert [s["period_start"] for s in deal.read("timesheets").get_json()["items"]] == [made[0]["period_start"]]

    def test_edits_and_deletes_rebill_the_period(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_active(desk, limit=1)
        first, second = deal.log(50).get_json(), deal.log(30).get_json()
        edited = deal.entry(first["id"], "PATCH", {"minutes": 20, "memo": "Less"})
        assert (edited.status_code, edited.get_json()["memo"]) == (200, "Less")
        assert deal.entry(second["id"], "DELETE").status_code == 204
        assert [e["minutes"] for e in deal.read("time-entries").get_json()["items"]] == [20]
        assert deal.entry(second["id"], "DELETE").status_code == 404
        assert deal.entry(first["id"], "PATCH", {"minutes": 5}, user_id=deal.client).status_code == 403

    def test_a_day_holds_at_most_1440_minutes_of_one_contract(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_active(desk, limit=40)
        assert deal.log(1_000).status_code == 201
        refused = deal.log(441)
        assert refused.status_code == 409 and "1440" in refused.get_json()["detail"]
        assert deal.log(440).status_code == 201

    def test_bad_entries_are_refused_naming_the_field(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_active(desk)
        tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
        assert "date" in deal.log(30, day=tomorrow).get_json()["errors"]
        assert "minutes" in deal.log(0).get_json()["errors"]
        assert "minutes" in deal.log(1_441).get_json()["errors"]
        not_a_start = deal.log(30, period_start=datetime.now(timezone.utc).isoformat())
        assert (not_a_start.status_code, list(not_a_start.get_json()["errors"])) == (422, ["period_start"])
        assert deal.read("time-entries?period_start=2999-01-04T00:00:00Z").status_code == 422
        assert deal.log(30, day=date(2020, 1, 1).isoformat()).status_code in (409, 422)

    def test_strangers_see_nothing_and_a_fixed_contract_has_no_time(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_active(desk)
        assert deal.read("time-entries", new_id()).status_code == 404
        assert deal.read("invoices", new_id(), roles=("admin",)).status_code == 200
        fixed = desk.active()
        assert fixed.post("time-entries", fixed.freelancer, {"date": today(), "minutes": 5,
                                                              "memo": "x"}).status_code == 409
        assert fixed.post("pause", fixed.client).status_code == 409
        assert deal.post(f"milestones/{new_id()}/fund", deal.client).status_code == 404
        assert deal.post("milestones", deal.client, {"title": "More", "amount": 5_000}).status_code == 409

    def test_the_same_entry_sent_twice_under_one_key_is_logged_once(self, make_any_contracts):
        desk = make_any_contracts(**LONG)
        deal = hourly_active(desk)
        first = deal.log(30, **{"Idempotency-Key": "entry-1"})
        again = deal.log(30, **{"Idempotency-Key": "entry-1"})
        assert (first.status_code, again.status_code) == (201, 201)
        assert first.get_json()["id"] == again.get_json()["id"]
        assert len(deal.read("time-entries").get_json()["items"]) == 1


class TestTheEditWindow:
    def test_after_edit_until_the_entries_are_final(self, make_any_contracts):
        desk = make_any_contracts(**SHORT)
        deal = hourly_active(desk)
        entry = deal.log(30).get_json()
        invoice = deal.wait_invoice("pending_payment")
        assert invoice["billable_minutes"] == 30
        assert deal.entry(entry["id"], "PATCH", {"minutes": 40}).status_code == 409
        assert deal.entry(entry["id"], "DELETE").status_code == 409
        late = deal.log(10, period_start=entry["period_start"])
        assert late.status_code == 409
        sheet = deal.read(f"timesheets/{entry['period_start']}").get_json()
        assert (sheet["status"], sheet["invoice_id"]) == ("closed", invoice["id"])

    def test_a_period_whose_entries_were_all_deleted_gets_no_invoice(self, make_any_contracts):
        desk = make_any_contracts(**SHORT)
        deal = hourly_active(desk)
        entry = deal.log(30).get_json()
        assert deal.entry(entry["id"], "DELETE").status_code == 204
        eventually(lambda: _timers_gone(deal), 10, message="the close timer never fired")
        assert deal.invoices() == []


def _timers_gone(deal) -> bool:
    with deal.desk.harness.runtime.db.transaction() as session:
        return not session.scalar(sa.select(sa.func.count()).select_from(TimerRow)
                                  .where(TimerRow.kind == "contracts.timesheet.close"))
