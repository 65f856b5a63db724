"""The ledger check as a metric: `ledger_check_failures{check}` on payments' /metrics, what the alert
MarketplaceLedgerCheckFailing watches; read at most every LEDGER_CHECK_EVERY."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from services.payments import ledger
from services.payments.settings import PaymentsSettings
from shared.config import ConfigError
from tests.support import new_id

CHECKS = {"total", "entries", "accounts", "escrows", "negative"}


def failures(payments) -> dict[str, float]:
    """The gauge as Prometheus scrapes it from the API's /metrics."""
    response = payments.client.get("/metrics")
    assert response.status_code == 200
    return {sample.labels["check"]: sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            if family.name == "ledger_check_failures" for sample in family.samples}


@contextmanager
def one_cent_too_many(payments, account: str):
    """A balance one cent off its postings, as a bug or a hand in the database would leave it; put right after."""
    with payments.db.transaction() as session:
        session.execute(sa.text("UPDATE accounts SET balance = balance + 1 WHERE name = :n"), {"n": account})
    try:
        yield
    finally:
        with payments.db.transaction() as session:
            session.execute(sa.text("UPDATE accounts SET balance = balance - 1 WHERE name = :n"), {"n": account})


class TestLedgerCheckFailures:
    def test_books_that_hold_show_no_failure_of_any_check(self, payments):
        client = new_id()
        payments.deposit(client, 5_000)
        assert failures(payments) == {check: 0.0 for check in CHECKS}

    def test_a_balance_off_its_postings_shows_until_it_is_put_right(self, make_any_payments):
        payments, client = make_any_payments(ledger_check_every=timedelta(0)), new_id()
        payments.deposit(client, 1_000)
        assert failures(payments)["accounts"] == 0.0
        with one_cent_too_many(payments, ledger.available(client)):
            assert failures(payments) == {"total": 1.0, "entries": 0.0, "accounts": 1.0, "escrows": 0.0,
                                          "negative": 0.0}
        assert failures(payments) == {check: 0.0 for check in CHECKS}

    def test_the_books_are_read_at_most_every_ledger_check_every(self, payments):
        client = new_id()
        payments.deposit(client, 1_000)
        assert failures(payments)["total"] == 0.0
        with one_cent_too_many(payments, ledger.available(client)):
            assert failures(payments)["total"] == 0.0, "read again within a minute"


class TestLedgerCheckEvery:
    def test_it_is_read_from_the_environment_and_a_minute_by_default(self):
        assert PaymentsSettings.from_env({"LEDGER_CHECK_EVERY": "5m"}).ledger_check_every == timedelta(minutes=5)
        assert PaymentsSettings.from_env({}).ledger_check_every == timedelta(minutes=1)

    @pytest.mark.parametrize("value", ["0s", "often"])
    def test_a_bad_value_is_refused_naming_its_variable(self, value):
        with pytest.raises(ConfigError, match="^LEDGER_CHECK_EVERY:"):
            PaymentsSettings.from_env({"LEDGER_CHECK_EVERY": value})
