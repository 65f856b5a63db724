"""The service as the kit builds it: its API described, its migration matching its models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.payments import SERVICE, escrow
from services.payments.models import Base

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
                                         "contracts.milestone.refund_requested", "payments.payout.requested",
                                         "users.user.suspended", "users.user.reinstated"}
        assert set(SERVICE.timers) == {escrow.HOLD_END}

    def test_the_migration_makes_exactly_the_tables_of_the_models(self, make_any_payments):
        payments = make_any_payments()
        ours = set(Base.metadata.tables)

        def payments_only(obj, name, type_, reflected, compare_to):
            return (name if type_ == "table" else obj.table.name) in ours  # the kit's tables are the kit's

        with payments.db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_object": payments_only})
            assert compare_metadata(context, Base.metadata) == []
