"""The embedded write lock: a password check holds none, so eight slow logins stall nobody."""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from services.users import SERVICE, accounts
from services.users.models import LoginFailure, User
from shared.db import ReadOnlyViolation, migrate, utcnow
from tests.support import write_lock_is_free
from tests.users.helpers import PASSWORD, at_once



class TestPasswordChecksHoldNoLock:
    def test_each_hash_check_and_hash_runs_while_no_write_transaction_is_open(self, users, register, login,
                                                                           monkeypatch):
        user = register()
        seen: list[tuple[str, bool]] = []
        real_matches, real_hash = accounts.Passwords.matches, accounts.Passwords.hash

        def matches(self, password_hash, password):
            seen.append(("verify", write_lock_is_free(users.runtime.db)))
            return real_matches(self, password_hash, password)

        def hash_(self, password):
            seen.append(("hash", write_lock_is_free(users.runtime.db)))
            return real_hash(self, password)

        monkeypatch.setattr(accounts.Passwords, "matches", matches)
        monkeypatch.setattr(accounts.Passwords, "hash", hash_)
        monkeypatch.setattr(accounts.Passwords, "needs_rehash", lambda self, password_hash: True)

        assert login(user["email"], "wrong password").status_code == 401
        assert login("nobody@example.com").status_code == 401
        assert login(user["email"]).status_code == 200  # right, and renewed
        register()
        assert seen == [("verify", True), ("verify", True), ("verify", True), ("hash", True), ("hash", True)]

    def test_users_me_is_served_while_eight_logins_are_in_flight(self, users, account, monkeypatch):
        checking, release = [], threading.Event()
        real = accounts.Passwords.matches

        def slow(self, password_hash, password):
            checking.append(password)
            release.wait(15)  # a slow hash, as long as the story needs
            return real(self, password_hash, password)

        monkeypatch.setattr(accounts.Passwords, "matches", slow)
        results: list = []

        def guess(number: int) -> int:
            body = {"email": f"guess{number}@example.com", "password": PASSWORD}
            return users.client.post("/auth/token", json=body).status_code

        logins = threading.Thread(target=lambda: results.extend(at_once(8, guess)))
        logins.start()
        try:
            deadline = time.monotonic() + 10
            while len(checking) < 8 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(checking) == 8, "the logins did not all reach their hash check together"
            assert write_lock_is_free(users.runtime.db)
            started = time.perf_counter()
            me = users.client.get("/users/me", headers=account["headers"])
            assert me.status_code == 200 and me.get_json()["id"] == account["id"]
            assert not release.is_set()
            print(f"GET /users/me with eight logins checking: {time.perf_counter() - started:.3f}s")
        finally:
            release.set()
            logins.join(20)
        assert sorted(results) == [401] * 8


class TestReadingTransaction:
    def test_a_read_takes_no_write_lock_on_sqlite(self, users, register):
        user = register()
        with users.runtime.db.reading() as session:
            assert session.get(User, user["id"]).email == user["email"]
            assert write_lock_is_free(users.runtime.db)
        with users.runtime.db.transaction(readonly=True) as session:
            assert session.get(User, user["id"]) is not None
            assert write_lock_is_free(users.runtime.db)
        with users.runtime.db.transaction() as session:
            session.get(User, user["id"])
            assert not write_lock_is_free(users.runtime.db, within=0.2)

    @pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
    def test_a_read_refuses_to_write(self, backend, request):
        make = request.getfixturevalue("make_sqlite_database" if backend == "sqlite" else "make_pg_database")
        database = make("read")
        migrate(database, SERVICE.migrations)
        with pytest.raises(ReadOnlyViolation):
            with database.reading() as session:
                session.add(LoginFailure(email_key="a@example.com", at=utcnow()))
                session.flush()
        with database.reading() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0

    def test_postgresql_refuses_a_written_statement_too(self, make_pg_database):
        database = make_pg_database("read")
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            with database.reading() as session:
                session.execute(sa.text("CREATE TABLE refused (id int)"))
