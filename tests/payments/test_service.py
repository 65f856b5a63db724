"""The service as the kit builds it: its API described, its handlers and timers declared
(its migrations matching its models: tests/platform/test_migrations.py)."""
from __future__ import annotations

from services.payments import SERVICE, bonuses, escrow, invoices

PATHS = ["/payments/deposits", "/payments/balance", "/payments/transactions", "/payments/payouts",
         "/payments/payouts/{payout_id}", "/payments/escrow/{contract_id}", "/payments/ledger/check"]


class TestService:
    def test_the_openapi_document_lists_every_endpoint(self, payments):
        response = payments.client.get("/openapi.json")
        assert response.status_code == 200
        assert set(PATHS) <= set(response.json["paths"])
        assert payments.client.get("/health").json["service"] == "payments"

    def test_it_reacts_to_contracts_requests_its_own_payouts_and_suspensions(self):
        assert set(SERVICE.handlers) == {"contracts.milestone.funding_requested", "contracts.milestone.approved",
                                         "contracts.milestone.refund_requested", "contracts.milestone.split_requested",
                                         "contracts.bonus.requested", "payments.payout.requested",
                                         "users.user.suspended", "users.user.reinstated",
                                         "contracts.invoice.charge_requested", "contracts.invoice.approved",
                                         "contracts.invoice.split_requested", "payments.deposit.succeeded"}
        assert set(SERVICE.timers) == {escrow.HOLD_END, bonuses.HOLD_END, invoices.RETRY_CHARGE, invoices.HOLD_END}
