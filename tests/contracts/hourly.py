"""`HourlyDeal`: an hourly contract under test, the desk playing jobs' hire and payments' answers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from services.contracts.hourly_models import Invoice
from shared.events import Envelope
from tests.contracts.helpers import Deal, Desk
from tests.support import eventually, new_id

# A compressed week: time is logged for 3s, edited 1s more, an invoice reviewed for 1s.
SHORT = {"billing_period": timedelta(seconds=3), "timesheet_edit_window": timedelta(seconds=1),
         "invoice_review_window": timedelta(seconds=1)}
# A week long enough that nothing closes while a story runs.
LONG = {"billing_period": timedelta(days=7), "timesheet_edit_window": timedelta(hours=12),
        "invoice_review_window": timedelta(hours=108)}


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def hourly_hire(desk: Desk, *, rate: int = 6_000, limit: int = 2) -> "HourlyDeal":
    data = desk.hire_data(milestones=[], type="hourly", hourly_rate=rate, weekly_limit_hours=limit)
    desk.harness.publish("jobs.hire.requested", data)
    deal = HourlyDeal(desk, data)
    deal.wait_for("offered")
    return deal


def hourly_active(desk: Desk, **terms) -> "HourlyDeal":
    deal = hourly_hire(desk, **terms)
    assert deal.post("accept", deal.freelancer).status_code == 200
    return deal


class HourlyDeal(Deal):
    def log(self, minutes: int = 60, *, day: str | None = None, period_start: str | None = None, **headers):
        body = {"date": day or today(), "minutes": minutes, "memo": "Worked"}
        if period_start:
            body["period_start"] = period_start
        return self.post("time-entries", self.freelancer, body, **headers)

    def entry(self, entry_id: str, method: str, body: dict | None = None, user_id: str | None = None):
        return self.desk.http.open(f"/contracts/{self.id}/time-entries/{entry_id}", method=method, json=body,
                                   headers=self.desk.headers(user_id or self.freelancer))

    def read(self, path: str, user_id: str | None = None, roles=("client", "freelancer")):
        return self.desk.http.get(f"/contracts/{self.id}/{path}", headers=self.desk.headers(user_id or self.client,
                                                                                             roles))

    def invoices(self) -> list[dict]:
        response = self.read("invoices")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def wait_invoice(self, status: str, timeout: float = 15) -> dict:
        return eventually(lambda: next((i for i in self.invoices() if i["status"] == status), None), timeout,
                          message=f"no invoice of {self.id} became {status}")

    def invoice_row(self, invoice_id: str) -> Invoice:
        with self.desk.harness.runtime.db.transaction() as session:
            row = session.scalar(sa.select(Invoice).where(Invoice.id == invoice_id))
            session.expunge(row)
            return row

    # payments ----------------------------------------------------------------------------

    def pay(self, type_: str, invoice: dict, **data):
        """A payments answer about `invoice`, published onto the bus; with `again=True` handed straight to
        the consumer as a fresh event (payments answering a second time), done when this returns."""
        again = data.pop("again", False)
        data = {"contract_id": self.id, "invoice_id": invoice["id"], **data}
        if again:
            return self.desk.harness.deliver(Envelope.new(type_, data, producer="payments", correlation_id=self.id))
        return self.desk.harness.publish(type_, data, correlation_id=self.id)

    def charged(self, invoice: dict, again: bool = False):
        return self.pay("payments.invoice.charged", invoice, again=again, amount=invoice["amount"],
                        client_fee=invoice["client_fee"], charged_at=datetime.now(timezone.utc))

    def charge_failed(self, invoice: dict):
        return self.pay("payments.invoice.charge_failed", invoice, client_id=self.client, amount=invoice["amount"],
                        client_fee=invoice["client_fee"], reason="insufficient_funds",
                        retry_at=datetime.now(timezone.utc) + timedelta(days=1))

    def released(self, invoice: dict, again: bool = False):
        return self.pay("payments.invoice.released", invoice, again=again, freelancer_id=self.freelancer,
                        amount=invoice["amount"], freelancer_fee=invoice["amount"] // 10,
                        available_at=datetime.now(timezone.utc) + timedelta(days=5))

    def split(self, invoice: dict, freelancer_amount: int):
        return self.pay("payments.invoice.split", invoice, freelancer_amount=freelancer_amount,
                        freelancer_fee=freelancer_amount // 10, refund_amount=invoice["amount"] - freelancer_amount,
                        client_fee_refund=0, available_at=datetime.now(timezone.utc) + timedelta(days=5))


def admin() -> str:
    return new_id()
