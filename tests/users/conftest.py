"""Fixtures of the users stories: the service on both databases, accounts, tokens."""
from __future__ import annotations

import pytest

from services.users import SERVICE
from services.users.settings import UsersSettings
from shared.ids import new_id
from tests.users.helpers import PASSWORD, new_account


@pytest.fixture
def fast_hashing() -> UsersSettings:
    """Users settings with cheap argon2 parameters: registering and logging in cost microseconds, not
    ~30 ms each. TestPasswordStorage checks the real parameters; the other stories only need a hash that
    verifies. Add fields with `.replace(...)`."""
    return UsersSettings(argon2_memory_kib=1024, argon2_time_cost=1, argon2_parallelism=1)


@pytest.fixture
def users(harness, settings, make_sqlite_database, fast_hashing):
    """The users service on SQLite with the embedded bus. `register`, `login` and `account` use it; a
    class whose stories should run on each database asks for `any_users` in its own `users` fixture."""
    return harness(SERVICE, settings, make_sqlite_database("users"), service_settings=fast_hashing)


@pytest.fixture
def any_users(harness, settings, make_database, fast_hashing):
    """The users service on a fresh database, once on SQLite and once on PostgreSQL."""
    return harness(SERVICE, settings, make_database("users"), service_settings=fast_hashing)


@pytest.fixture
def users_live(harness, amqp_settings, make_pg_database, fast_hashing):
    """The users service on PostgreSQL and RabbitMQ (its events reach the exchange)."""
    return harness(SERVICE, amqp_settings, make_pg_database("users"), service_settings=fast_hashing)


@pytest.fixture
def register(users):
    """`register(**overrides)`: a new account over HTTP (201 asserted); returns the User body."""

    def make(**overrides) -> dict:
        response = users.client.post("/users", json=new_account(**overrides))
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


@pytest.fixture
def login(users):
    """`login(email, password=PASSWORD)`: the response of `POST /auth/token`."""

    def post(email: str, password: str = PASSWORD):
        return users.client.post("/auth/token", json={"email": email, "password": password})

    return post


@pytest.fixture
def account(register, users):
    """One active freelancer, with `headers` carrying a token for them."""
    user = register(roles=["freelancer"])
    return {**user, "headers": users.headers(user["id"], user["roles"])}


@pytest.fixture
def admin_headers(users):
    """A token with the admin role; no account needs to stand behind it to suspend others."""
    return users.headers(new_id(), ["admin"])
