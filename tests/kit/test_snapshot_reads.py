"""`Database.reading()`: every statement of a read sees one snapshot, so a view built from several rows
(a contract and its milestones, a balance over several accounts) is never half before and half after
another transaction's commit."""
from __future__ import annotations

import pytest
import sqlalchemy as sa



@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, make_pg_database, make_sqlite_database):
    database = (make_pg_database if request.param == "postgresql" else make_sqlite_database)("snapshot")
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE accounts (name VARCHAR(20) PRIMARY KEY, balance INTEGER)")
        connection.exec_driver_sql("INSERT INTO accounts VALUES ('escrow', 100), ('pending', 0)")
    return database


def balance(session, name: str) -> int:
    return session.execute(sa.text("SELECT balance FROM accounts WHERE name = :name"), {"name": name}).scalar_one()


def test_a_transfer_committed_between_two_statements_of_a_read_is_not_half_seen(database):
    with database.reading() as session:
        in_escrow = balance(session, "escrow")
        with database.transaction() as writer:  # the release commits between the read's two statements
            writer.execute(sa.text("UPDATE accounts SET balance = balance - 100 WHERE name = 'escrow'"))
            writer.execute(sa.text("UPDATE accounts SET balance = balance + 100 WHERE name = 'pending'"))
        pending = balance(session, "pending")

    assert (in_escrow, pending) == (100, 0)  # all before the release, not the money in neither account
    with database.reading() as session:
        assert (balance(session, "escrow"), balance(session, "pending")) == (0, 100)

