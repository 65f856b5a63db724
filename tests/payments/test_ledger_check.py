"""The ledger check: admins ask whether the books hold; it notices when they do not."""
from __future__ import annotations

import sqlalchemy as sa

from services.payments import ledger
from tests.payments.helpers import Milestone
from tests.support import new_id


class TestLedgerCheck:
    def test_admins_see_balanced_books(self, payments):
        milestone = Milestone()
        payments.fund(milestone)
        payments.deliver(milestone.approved())
        response = payments.client.get("/payments/ledger/check", headers=payments.headers(new_id(), "admin"))
        assert response.status_code == 200
        assert response.json["balanced"] is True and response.json["total"] == 0
        assert response.json["negative_accounts"] == []
        assert response.json["accounts"] == 5  # world:cards, client available, escrow, fees, freelancer pending

    def test_anyone_else_is_403(self, payments):
        stranger = payments.headers(new_id(), "client")
        assert payments.client.get("/payments/ledger/check", headers=stranger).status_code == 403
        assert payments.client.get("/payments/ledger/check").status_code == 401

    def test_it_notices_a_balance_that_does_not_match_its_postings(self, make_any_payments):
        payments, client = make_any_payments(), new_id()
        payments.deposit(client, 1_000)
        with payments.db.transaction() as session:
            session.execute(sa.text("UPDATE accounts SET balance = balance + 1 WHERE name = :n"),
                            {"n": ledger.available(client)})
        report = payments.check()
        assert not report["balanced"] and report["total"] == 1
        assert report["mismatched_accounts"] == [ledger.available(client)]
        with payments.db.transaction() as session:
            session.execute(sa.text("UPDATE accounts SET balance = balance - 1 WHERE name = :n"),
                            {"n": ledger.available(client)})

    def test_the_database_refuses_a_negative_user_balance(self, make_any_payments):
        payments, client = make_any_payments(), new_id()
        payments.deposit(client, 1_000)
        try:
            with payments.db.transaction() as session:
                session.execute(sa.text("UPDATE accounts SET balance = -1 WHERE name = :n"),
                                {"n": ledger.available(client)})
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("a user account went below zero")
        assert payments.balance(client)["available"] == 1_000
