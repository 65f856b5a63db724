"""The ledger check: admins ask whether the books hold; it notices when they do not."""
from __future__ import annotations

import sqlalchemy as sa

from services.payments import ledger
from tests.payments.story import Milestone
from tests.support import new_id


class TestLedgerCheck:
    def test_admins_see_balanced_books(self, books):
        milestone = Milestone()
        books.fund(milestone)
        books.deliver(milestone.approved())
        response = books.client.get("/payments/ledger/check", headers=books.headers(new_id(), "admin"))
        assert response.status_code == 200
        assert response.json["balanced"] is True and response.json["total"] == 0
        assert response.json["negative_accounts"] == []
        assert response.json["accounts"] == 5  # world:cards, client available, escrow, fees, freelancer pending

    def test_anyone_else_is_403(self, books):
        assert books.client.get("/payments/ledger/check", headers=books.headers(new_id(), "client")).status_code == 403
        assert books.client.get("/payments/ledger/check").status_code == 401

    def test_it_notices_a_balance_that_does_not_match_its_postings(self, make_books):
        books, client = make_books(), new_id()
        books.deposit(client, 1_000)
        with books.db.transaction() as session:
            session.execute(sa.text("UPDATE accounts SET balance = balance + 1 WHERE name = :n"),
                            {"n": ledger.available(client)})
        report = books.check()
        assert not report["balanced"] and report["total"] == 1
        assert report["mismatched_accounts"] == [ledger.available(client)]
        with books.db.transaction() as session:
            session.execute(sa.text("UPDATE accounts SET balance = balance - 1 WHERE name = :n"),
                            {"n": ledger.available(client)})

    def test_the_database_refuses_a_negative_user_balance(self, make_books):
        books, client = make_books(), new_id()
        books.deposit(client, 1_000)
        try:
            with books.db.transaction() as session:
                session.execute(sa.text("UPDATE accounts SET balance = -1 WHERE name = :n"),
                                {"n": ledger.available(client)})
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("a user account went below zero")
        assert books.balance(client)["available"] == 1_000
