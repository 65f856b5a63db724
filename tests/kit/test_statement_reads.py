"""`Database.read`: one statement on its own, on a connection that is not pinged first but is not trusted either."""
from __future__ import annotations

import sqlalchemy as sa


def test_a_read_on_a_connection_the_server_dropped_is_run_again_on_a_fresh_one(make_pg_database):
    database = make_pg_database("reads")
    pid = database.read(sa.text("SELECT pg_backend_pid() AS pid"))[0].pid
    with database.engine.connect() as admin:
        assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
        admin.commit()
    again = database.read(sa.text("SELECT pg_backend_pid() AS pid"))[0].pid
    assert again != pid


def test_a_read_opens_no_transaction_of_its_own(make_pg_database):
    database = make_pg_database("reads")
    rows = database.read(sa.text("SELECT now() = statement_timestamp() AS alone"))
    assert rows[0].alone  # outside a transaction block (no BEGIN before it), now() is the statement's own start


def test_a_read_on_sqlite_waits_for_no_writer(make_sqlite_database):
    database = make_sqlite_database("reads")
    with database.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    with database.engine.begin() as writer:  # BEGIN IMMEDIATE: the write lock, held
        writer.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert [row.x for row in database.read(sa.text("SELECT x FROM t"))] == [1]
