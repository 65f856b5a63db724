"""`HourlyMarket`: the market of the fixed-price stories with an hourly job, a compressed week and its bills."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.helpers import Market
from tests.support import eventually

# A compressed week: a period of a few seconds, its edit window, the invoice's review window.
PERIOD = {"billing_period": timedelta(seconds=4), "timesheet_edit_window": timedelta(seconds=1),
          "invoice_review_window": timedelta(seconds=1)}
PAYMENTS = {"payout_hold": timedelta(seconds=1), "charge_retry_after": timedelta(seconds=1)}


class HourlyMarket(Market):
    def hourly_proposal(self, rate: int = 5_000) -> tuple[dict, dict]:
        job = self.as_client("POST", "/jobs", {
            "title": "Keep our servers patched", "description": "A few hours a week.", "skills": ["Linux"],
            "budget_type": "hourly", "hourly_rate_max": 10_000}, expect=201)
        proposal = self.as_freelancer("POST", f"/jobs/{job['id']}/proposals", {
            "cover_letter": "I run fleets.", "rate": rate}, expect=201)
        return job, proposal

    def hourly_contract(self, *, rate: int = 5_000, limit: int = 2) -> tuple[dict, dict, str]:
        """An active hourly contract: proposed at `rate`, hired with a weekly limit of `limit` hours, accepted."""
        job, proposal = self.hourly_proposal(rate)
        contract_id = self.hire(job, proposal, {"weekly_limit_hours": limit})["contract_id"]
        self.wait_for(contract_id, "offered")
        self.as_freelancer("POST", f"/contracts/{contract_id}/accept", expect=200)
        return job, proposal, contract_id

    def log(self, contract_id: str, minutes: int, period_start: str | None = None, expect: int = 201) -> dict:
        body = {"date": datetime.now().astimezone().date().isoformat(), "minutes": minutes, "memo": "Patched hosts"}
        if period_start:
            body["period_start"] = period_start
        return self.as_freelancer("POST", f"/contracts/{contract_id}/time-entries", body, expect=expect)

    def log_week(self, contract_id: str, minutes: list[int]) -> str:
        """Entries of one period (the one the first lands in); its start."""
        first = self.log(contract_id, minutes[0])
        for each in minutes[1:]:
            self.log(contract_id, each, first["period_start"])
        return first["period_start"]

    def invoices(self, contract_id: str) -> list[dict]:
        return self.as_client("GET", f"/contracts/{contract_id}/invoices", expect=200)["items"]

    def wait_invoice(self, contract_id: str, status: str, timeout: float = 30) -> dict:
        def reached():
            found = self.invoices(contract_id)
            return found[0] if found and found[0]["status"] == status else None

        return eventually(reached, timeout, message=f"the invoice of {contract_id} never became {status}")
