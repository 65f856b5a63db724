"""The invoice events payments sends survive a trip through an envelope, and reach the bus as they are."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.events import Envelope
from tests.payments.test_hourly_invoices import Bill
from tests.support import new_id

IDS = {"contract_id": new_id(), "invoice_id": new_id()}
AT = datetime(2026, 12, 7, 12, 0, 0, 250000, tzinfo=timezone.utc)

SAMPLES = {
    "payments.invoice.charged": {**IDS, "amount": 12_000, "client_fee": 600, "charged_at": AT},
    "payments.invoice.charge_failed": {**IDS, "client_id": new_id(), "amount": 12_000, "client_fee": 600,
                                       "reason": "insufficient_funds", "retry_at": AT},
    "payments.invoice.released": {**IDS, "freelancer_id": new_id(), "amount": 12_000, "freelancer_fee": 1_200,
                                  "available_at": AT},
    "payments.invoice.split": {**IDS, "freelancer_amount": 5_000, "freelancer_fee": 500, "refund_amount": 7_000,
                               "client_fee_refund": 350, "available_at": None},
    "payments.deposit.succeeded": {"deposit_id": new_id(), "user_id": new_id(), "amount": 50_000},
}


class TestInvoiceEvents:
    @pytest.mark.parametrize("type_", sorted(SAMPLES))
    def test_round_trip(self, type_):
        sent = Envelope.new(type_, SAMPLES[type_], producer="payments", correlation_id=new_id())
        received = Envelope.from_json(sent.to_json())
        assert received == sent and received.load() == SAMPLES[type_]

    def test_a_charge_and_a_deposit_reach_the_wire(self, make_payments_live, wire):
        books, bill = make_payments_live(), Bill()
        wire.bind("payments.deposit.succeeded").bind("payments.invoice.*")
        assert books.deposit(bill.client_id, 10_500).status_code == 201
        wire.wait_for("payments.deposit.succeeded", timeout=20, user_id=bill.client_id, amount=10_500)
        request = bill.charge_requested()
        books.harness.publish(request.type, request.data, correlation_id=bill.contract_id)
        envelope, _ = wire.wait_for("payments.invoice.charged", timeout=20, invoice_id=bill.invoice_id)
        assert (envelope["data"]["amount"], envelope["data"]["client_fee"]) == (10_000, 500)
        assert envelope["correlation_id"] == bill.contract_id
