"""The billing saga as contracts runs it, the desk playing payments: the timesheet closes and the charge is
asked for; a charge opens the review window, a failed one pauses the contract; the review ends in a release,
or a dispute ends in an admin's split; ending mid-week waits for the last invoice."""
from __future__ import annotations

from datetime import timedelta

from tests.contracts.hourly import SHORT, hourly_active
from tests.support import eventually, new_id


class TestTheBillingSaga:
    def test_closed_timesheet_charged_reviewed_and_released(self, make_any_contracts):
        desk = make_any_contracts(**SHORT)
        deal = hourly_active(desk, rate=6_000, limit=1)
        deal.log(50)
        deal.log(20)
        invoice = deal.wait_invoice("pending_payment")
        assert (invoice["total_minutes"], invoice["billable_minutes"], invoice["amount"], invoice["client_fee"]) == (
            70, 60, 6_000, 300)
        asked = deal.emitted("contracts.invoice.charge_requested")
        assert len(asked) == 1 and asked[0]["amount"] == 6_000 and asked[0]["client_fee_bps"] == 500

        deal.charged(invoice)
        reviewed = deal.wait_invoice("in_review")
        assert reviewed["review_ends_at"] > reviewed["charged_at"]
        approved = eventually(lambda: deal.emitted("contracts.invoice.approved"), 10)
        assert approved[0]["freelancer_fee_bps"] == 1000 and approved[0]["amount"] == 6_000
        deal.released(invoice)
        released = deal.wait_invoice("released")
        assert (released["freelancer_amount"], released["refund_amount"], released["freelancer_fee"]) == (6_000, 0, 600)
        contract = deal.contract()
        assert (contract["status"], contract["released_amount"], contract["total_amount"]) == ("active", 6_000, 6_000)

    def test_a_failed_charge_pauses_the_contract_until_it_is_paid(self, make_any_contracts):
        desk = make_any_contracts(**SHORT)
        deal = hourly_active(desk)
        deal.log(30)
        invoice = deal.wait_invoice("pending_payment")
        deal.charge_failed(invoice)
        failed = deal.wait_invoice("payment_failed")
        assert failed["last_error"] == "insufficient_funds"
        assert deal.wait_for("paused")["pause_reasons"] == ["payment_failed"]
        assert deal.post("resume", deal.client).status_code == 409  # not the client's pause

        deal.charged(invoice)
        deal.wait_invoice("in_review")
        assert deal.wait_for("active")["pause_reasons"] == []
        assert [e["pause_reasons"] for e in deal.emitted("contracts.contract.resumed")] == [[]]

    def test_a_disputed_invoice_is_held_until_an_admin_splits_it(self, make_any_contracts):
        desk = make_any_contracts(**{**SHORT, "invoice_review_window": SHORT["billing_period"] * 100})
        deal = hourly_active(desk, rate=6_000, limit=2)
        deal.log(90)
        invoice = deal.wait_invoice("pending_payment")
        path = f"invoices/{invoice['id']}"
        assert deal.post(f"{path}/dispute", deal.client, {"reason": "Too much"}).status_code == 409  # not charged
        deal.charged(invoice)
        deal.wait_invoice("in_review")

        assert deal.post(f"{path}/dispute", deal.freelancer, {"reason": "x"}).status_code == 403
        assert deal.post(f"{path}/dispute", deal.client, {"reason": ""}).status_code == 422
        disputed = deal.post(f"{path}/dispute", deal.client, {"reason": "An hour was not worked"})
        assert (disputed.status_code, disputed.get_json()["status"]) == (200, "disputed")

        admin = new_id()
        resolve = f"/contracts/{deal.id}/{path}/resolve"
        as_admin = desk.headers(admin, ("admin",))
        assert desk.http.post(resolve, json={"freelancer_amount": 6_000, "refund_amount": 2_000},
                              headers=as_admin).status_code == 422
        assert desk.http.post(resolve, json={"freelancer_amount": 6_000, "refund_amount": 3_000},
                              headers=desk.headers(deal.client)).status_code == 403
        first = desk.http.post(resolve, json={"freelancer_amount": 6_000, "refund_amount": 3_000},
                               headers={**as_admin, "Idempotency-Key": "resolve-1"})
        again = desk.http.post(resolve, json={"freelancer_amount": 6_000, "refund_amount": 3_000},
                               headers={**as_admin, "Idempotency-Key": "resolve-1"})
        assert (first.status_code, first.get_json()["status"], again.status_code) == (202, "resolving", 202)
        asked = deal.emitted("contracts.invoice.split_requested")
        assert len(asked) == 1 and (asked[0]["freelancer_amount"], asked[0]["refund_amount"]) == (6_000, 3_000)

        deal.split(invoice, 6_000)
        resolved = deal.wait_invoice("resolved")
        assert (resolved["freelancer_amount"], resolved["refund_amount"]) == (6_000, 3_000)
        assert deal.contract()["released_amount"] == 6_000
        assert not deal.emitted("contracts.invoice.approved")

    def test_the_same_charged_and_released_events_twice_move_the_invoice_once(self, make_any_contracts):
        desk = make_any_contracts(**SHORT)
        deal = hourly_active(desk, rate=6_000)
        deal.log(60)
        invoice = deal.wait_invoice("pending_payment")
        deal.charged(invoice)
        first_review = deal.wait_invoice("in_review")["review_ends_at"]
        deal.charged(invoice, again=True)
        assert deal.invoices()[0]["review_ends_at"] == first_review
        eventually(lambda: deal.emitted("contracts.invoice.approved"), 10)
        deal.released(invoice)
        deal.wait_invoice("released")
        deal.released(invoice, again=True)
        deal.charged(invoice, again=True)
        assert deal.contract()["released_amount"] == 6_000
        assert len(deal.emitted("contracts.invoice.approved")) == 1
        assert deal.wait_invoice("released")["id"] == invoice["id"]


class TestEndingMidWeek:
    def test_a_cancelled_hourly_contract_waits_for_its_last_invoice(self, make_any_contracts):
        desk = make_any_contracts(**SHORT)
        deal = hourly_active(desk, rate=6_000)
        deal.log(30)
        assert deal.post("cancel", deal.client, {"note": "Project over"}).get_json()["status"] == "cancelling"
        assert deal.log(10).status_code == 409
        invoice = deal.wait_invoice("pending_payment")
        assert deal.contract()["status"] == "cancelling"
        deal.charged(invoice)
        eventually(lambda: deal.emitted("contracts.invoice.approved"), 10)
        deal.released(invoice)
        cancelled = deal.wait_for("cancelled")
        assert (cancelled["end_reason"], cancelled["released_amount"]) == ("ended_by_client", 3_000)
        assert deal.emitted("contracts.contract.cancelled")[0]["released_amount"] == 3_000

    def test_a_contract_with_nothing_logged_ends_at_once_and_a_paused_one_ends_too(self, make_any_contracts):
        desk = make_any_contracts(**SHORT)
        deal = hourly_active(desk)
        deal.post("pause", deal.client)
        assert deal.post("cancel", deal.freelancer).status_code == 202
        cancelled = deal.wait_for("cancelled")
        assert (cancelled["end_reason"], cancelled["pause_reasons"]) == ("ended_by_freelancer", [])


class TestDeadlines:
    def test_an_unanswered_charge_request_is_sent_again_until_payments_answers(self, make_any_contracts):
        desk = make_any_contracts(**SHORT, saga_resend_after=timedelta(milliseconds=300),
                                  saga_resend_max=timedelta(seconds=1))
        deal = hourly_active(desk)
        deal.log(30)
        invoice = deal.wait_invoice("pending_payment")
        eventually(lambda: len(deal.emitted("contracts.invoice.charge_requested")) >= 3, 15)
        deal.charged(invoice)
        deal.wait_invoice("in_review")
        sent = len(deal.emitted("contracts.invoice.charge_requested"))
        eventually(lambda: deal.emitted("contracts.invoice.approved"), 10)
        assert len(deal.emitted("contracts.invoice.charge_requested")) == sent
        assert {each["amount"] for each in deal.emitted("contracts.invoice.charge_requested")} == {invoice["amount"]}
