"""The contracts service's event schemas survive a trip through an envelope."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.events import Envelope
from shared.events.contracts import EVENTS
from tests.support import new_id

PARTIES = {"contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(), "client_id": new_id(),
           "freelancer_id": new_id()}
MONEY = {"contract_id": PARTIES["contract_id"], "milestone_id": new_id()}
BILL = {"contract_id": PARTIES["contract_id"], "invoice_id": new_id(), "client_id": PARTIES["client_id"],
        "freelancer_id": PARTIES["freelancer_id"]}
AT = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=timezone.utc)

SAMPLES = {
    "contracts.contract.created": {**PARTIES, "client_fee_bps": 500, "freelancer_fee_bps": 1000, "total_amount": 35_000,
                                   "type": "hourly", "hourly_rate": 6_000, "weekly_limit_hours": 10},
    "contracts.contract.offered": {**PARTIES, "offer_expires_at": AT},
    "contracts.contract.activated": PARTIES,
    "contracts.contract.cancelled": {**PARTIES, "end_reason": "withdrawn", "end_note": "Changed my mind",
                                     "released_amount": 2_000},
    "contracts.contract.completed": {key: PARTIES[key] for key in ("contract_id", "job_id", "client_id", "freelancer_id")}
    | {"released_amount": 35_000},
    "contracts.milestone.funding_requested": {**MONEY, "client_id": PARTIES["client_id"],
                                              "freelancer_id": PARTIES["freelancer_id"], "amount": 10_000,
                                              "client_fee_bps": 500},
    "contracts.milestone.submitted": {**MONEY, "auto_approve_at": AT},
    "contracts.milestone.approved": {**MONEY, "client_id": PARTIES["client_id"], "freelancer_id": PARTIES["freelancer_id"],
                                     "amount": 10_000, "freelancer_fee_bps": 1000, "auto": True},
    "contracts.milestone.refund_requested": {**MONEY, "client_id": PARTIES["client_id"], "amount": 10_000},
    "contracts.milestone.split_requested": {**MONEY, "client_id": PARTIES["client_id"],
                                            "freelancer_id": PARTIES["freelancer_id"], "amount": 10_000,
                                            "freelancer_amount": 7_000, "refund_amount": 3_000,
                                            "client_fee_bps": 500, "freelancer_fee_bps": 1000},
    "contracts.bonus.requested": {"bonus_id": new_id(), "contract_id": PARTIES["contract_id"],
                                  "client_id": PARTIES["client_id"], "freelancer_id": PARTIES["freelancer_id"],
                                  "amount": 5_000, "client_fee_bps": 500, "freelancer_fee_bps": 1000},
    **{f"contracts.refund_request.{what}": {**MONEY, "refund_request_id": new_id(), "status": status,
                                            "amount": 3_000, "auto": False, "respond_by": AT, "dispute_id": None}
       for what, status in (("opened", "pending"), ("closed", "withdrawn"))},
    **{f"contracts.dispute.{what}": {**MONEY, "dispute_id": new_id(), "refund_request_id": new_id(),
                                     "status": status, "amount": 10_000, "requested_amount": 3_000,
                                     "respond_by": AT, "accept_by": AT if what == "proposed" else None,
                                     "resolution": "agreed" if status == "resolved" else None,
                                     "freelancer_amount": 6_000 if status == "resolved" else None,
                                     "refund_amount": 4_000 if status == "resolved" else None}
       for what, status in (("opened", "open"), ("escalated", "mediation"), ("proposed", "mediation"),
                            ("resolved", "resolved"))},
    "contracts.contract.paused": {"contract_id": PARTIES["contract_id"], "pause_reasons": ["client", "payment_failed"]},
    "contracts.contract.resumed": {"contract_id": PARTIES["contract_id"], "pause_reasons": []},
    "contracts.invoice.charge_requested": {**BILL, "period_start": AT, "period_end": AT, "billable_minutes": 120,
                                           "hourly_rate": 6_000, "amount": 12_000, "client_fee_bps": 500},
    "contracts.invoice.approved": {**BILL, "amount": 12_000, "freelancer_fee_bps": 1000},
    "contracts.invoice.split_requested": {**BILL, "amount": 12_000, "freelancer_amount": 5_000, "refund_amount": 7_000,
                                          "client_fee_bps": 500, "freelancer_fee_bps": 1000},
}


class TestContractsEvents:
    def test_every_event_type_has_a_sample(self):
        assert set(SAMPLES) == set(EVENTS)

    @pytest.mark.parametrize("type_", sorted(SAMPLES))
    def test_round_trip(self, type_):
        sent = Envelope.new(type_, SAMPLES[type_], producer="contracts", correlation_id=PARTIES["contract_id"])

        received = Envelope.from_json(sent.to_json())

        assert received == sent
        assert received.load() == SAMPLES[type_]

    def test_a_consumer_ignores_fields_it_does_not_know(self):
        sent = Envelope.new("contracts.contract.activated", PARTIES, producer="contracts", correlation_id=new_id())
        newer = Envelope.from_json(sent.to_json().replace('"data":{', '"data":{"shiny":1,'))

        assert newer.load() == PARTIES

    def test_an_unknown_end_reason_is_refused(self):
        with pytest.raises(ValueError):
            Envelope.new("contracts.contract.cancelled", {**PARTIES, "end_reason": "bored", "released_amount": 0},
                         producer="contracts", correlation_id=new_id())
