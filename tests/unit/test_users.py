"""The rules of accounts: registration, login throttling, suspension, the operator's admin."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from services.users import SERVICE, accounts
from services.users.models import LoginFailure, User
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound, TooManyRequests
from tests.unit.fakes import new_id

PASSWORD = "correct horse battery"


@pytest.fixture
def uow(make_uow):
    made = make_uow(SERVICE)
    # Argon2 at its lowest cost: the rules are under test here, not the hash's strength.
    made.settings = made.settings.replace(argon2_memory_kib=8, argon2_time_cost=1, argon2_parallelism=1)
    return made


def register(uow, email: str | None = None, roles=("client",)) -> User:
    return accounts.register(uow, email=email or f"{new_id()}@example.com",
                             password_hash=accounts.passwords(uow.settings).hash(PASSWORD), name="Ada",
                             roles=list(roles), country="GB")


def authenticate(uow, *, email: str, password: str) -> User | None:
    """A login's three steps (`accounts.log_in` runs each in its own transaction) in this one unit of work."""
    attempt = accounts.begin_login(uow, email=email)
    return accounts.finish_login(uow, attempt, accounts.check_password(accounts.passwords(uow.settings),
                                                                        attempt, password))


def failures(uow) -> int:
    return uow.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure))


class TestRegister:
    def test_a_new_account_is_active_and_announced(self, uow):
        user = register(uow, "  Ada@Example.com ", roles=("client", "freelancer"))

        assert (user.status, user.email, user.email_key) == ("active", "Ada@Example.com", "ada@example.com")
        assert user.roles == ["client", "freelancer"]
        assert user.password_hash != PASSWORD
        assert uow.event("users.user.registered") == {"user_id": user.id, "email": "Ada@Example.com", "name": "Ada",
                                                      "roles": ["client", "freelancer"]}

    def test_an_email_is_taken_whatever_its_case(self, uow):
        register(uow, "ada@example.com")

        with pytest.raises(Conflict, match="already exists"):
            register(uow, "ADA@example.com")


class TestAuthenticate:
    def test_the_right_password_finds_the_user_and_forgets_earlier_failures(self, uow):
        user = register(uow)
        authenticate(uow, email=user.email, password="wrong")

        assert authenticate(uow, email=user.email.upper(), password=PASSWORD) is user
        assert failures(uow) == 0

    def test_a_wrong_password_or_an_unknown_email_finds_nobody_and_is_counted(self, uow):
        user = register(uow)

        assert authenticate(uow, email=user.email, password="wrong") is None
        assert authenticate(uow, email="nobody@example.com", password=PASSWORD) is None
        assert failures(uow) == 2

    def test_too_many_failures_lock_the_email_for_a_while(self, uow):
        user = register(uow)
        for _ in range(accounts.THROTTLE_FAILURES):
            authenticate(uow, email=user.email, password="wrong")

        with pytest.raises(TooManyRequests) as raised:
            authenticate(uow, email=user.email, password=PASSWORD)
        assert 0 < raised.value.retry_after <= accounts.THROTTLE_WINDOW.total_seconds()

    def test_failures_older_than_the_window_do_not_count(self, uow):
        user = register(uow)
        for _ in range(accounts.THROTTLE_FAILURES):
            uow.session.add(LoginFailure(email_key=user.email_key,
                                         at=utcnow() - accounts.THROTTLE_WINDOW - timedelta(seconds=1)))

        assert authenticate(uow, email=user.email, password=PASSWORD) is user

    def test_a_suspended_account_cannot_log_in(self, uow):
        user = register(uow)
        accounts.suspend(uow, admin_id=new_id(), user_id=user.id, reason="fraud")

        with pytest.raises(Forbidden):
            authenticate(uow, email=user.email, password=PASSWORD)


    def test_a_hash_made_with_other_parameters_still_verifies_and_is_renewed(self, uow):
        user = register(uow)
        old = PasswordHasher(memory_cost=16, time_cost=2, parallelism=2).hash(PASSWORD)
        user.password_hash = old

        assert authenticate(uow, email=user.email, password=PASSWORD) is user
        assert user.password_hash != old
        assert not accounts.passwords(uow.settings).needs_rehash(user.password_hash)
        assert "m=8,t=1,p=1" in user.password_hash

    def test_a_wrong_password_never_renews_the_hash(self, uow):
        user = register(uow)
        old = user.password_hash = PasswordHasher(memory_cost=16, time_cost=2, parallelism=2).hash(PASSWORD)

        assert authenticate(uow, email=user.email, password="wrong") is None
        assert user.password_hash == old

    def test_an_attempt_counts_as_a_failure_before_its_password_is_checked(self, uow):
        user = register(uow)

        attempt = accounts.begin_login(uow, email=user.email)
        assert failures(uow) == 1
        verdict = accounts.check_password(accounts.passwords(uow.settings), attempt, PASSWORD)
        assert accounts.finish_login(uow, attempt, verdict) is user
        assert failures(uow) == 0


class TestSuspend:
    def test_an_admin_suspends_an_account_and_says_why(self, uow):
        user = register(uow)
        uow.forget()

        accounts.suspend(uow, admin_id=new_id(), user_id=user.id, reason="fraud")

        assert (user.status, user.suspended_reason) == ("suspended", "fraud")
        assert uow.event("users.user.suspended") == {"user_id": user.id, "reason": "fraud"}

    def test_a_suspended_account_is_no_longer_found(self, uow):
        user = register(uow)
        accounts.suspend(uow, admin_id=new_id(), user_id=user.id, reason="fraud")

        with pytest.raises(NotFound):
            accounts.active_user(uow.session, user.id)

    def test_an_account_is_suspended_once(self, uow):
        user = register(uow)
        accounts.suspend(uow, admin_id=new_id(), user_id=user.id, reason="fraud")

        with pytest.raises(Conflict, match="already suspended"):
            accounts.suspend(uow, admin_id=new_id(), user_id=user.id, reason="again")

    def test_an_admin_cannot_suspend_themself(self, uow):
        admin = register(uow)

        with pytest.raises(Conflict):
            accounts.suspend(uow, admin_id=admin.id, user_id=admin.id, reason="oops")

    def test_an_unknown_account_is_not_found(self, uow):
        with pytest.raises(NotFound):
            accounts.suspend(uow, admin_id=new_id(), user_id=new_id(), reason="fraud")


class TestProfile:
    def test_skills_are_kept_once_each_in_the_order_given(self, uow):
        user = register(uow)

        accounts.update_profile(user, {"name": "Ada L.", "profile": {"title": "Engineer",
                                                                      "skills": ["Python", " python", "SQL"]}})

        assert (user.name, user.title, user.skills) == ("Ada L.", "Engineer", ["Python", "SQL"])


class TestSearch:
    def test_active_users_are_found_by_role_skill_and_words_taken_literally(self, uow):
        percent, thousand, suspended = (register(uow, roles=("freelancer",)) for _ in range(3))
        for user, title in ((percent, "100% Python"), (thousand, "1000 lines of Go"), (suspended, "100% Python")):
            accounts.update_profile(user, {"profile": {"title": title, "skills": [title.split()[-1]]}})
        register(uow, roles=("client",))
        accounts.suspend(uow, admin_id=new_id(), user_id=suspended.id, reason="fraud")

        def found(role=None, skill=None, q=None) -> set[str]:
            return {user.id for user in uow.session.scalars(accounts.search(role, skill, q))}

        assert found(role="freelancer") == {percent.id, thousand.id}
        assert found(skill="PYTHON") == {percent.id}
        assert found(q="100%") == {percent.id}
        assert found(q="10_") == set()


class TestEnsureAdmin:
    def test_the_operators_admin_is_made_once(self, uow):
        first = accounts.ensure_admin(uow, email="root@example.com", password=PASSWORD)
        again = accounts.ensure_admin(uow, email="ROOT@example.com", password=PASSWORD)

        assert first is again
        assert first.roles == ["admin"]
        assert uow.emitted == []  # never announced: the admin is no marketplace user

    def test_an_existing_account_is_promoted_and_takes_the_operators_password(self, uow):
        user = register(uow, "boss@example.com")

        accounts.ensure_admin(uow, email="boss@example.com", password="a new password")

        assert user.roles == ["admin", "client"]
        assert authenticate(uow, email="boss@example.com", password="a new password") is user
