"""Opening an account: `POST /users`."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from services.users import SERVICE
from services.users.models import User
from services.users.settings import UsersSettings
from tests.users.helpers import PASSWORD, at_once, new_account, outbox

RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


class TestRegister:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def test_creates_an_account_with_its_location(self, users):
        body = new_account(name="Grace Hopper", roles=["client", "freelancer"], country="GB")
        response = users.client.post("/users", json=body)
        assert response.status_code == 201
        user = response.get_json()
        assert response.headers["Location"] == f"/users/{user['id']}"
        assert user["email"] == body["email"]
        assert user["name"] == "Grace Hopper"
        assert user["roles"] == ["client", "freelancer"]
        assert user["country"] == "GB"
        assert user["status"] == "active"
        assert user["profile"] == {"title": None, "bio": None, "hourly_rate": None, "skills": []}
        assert RFC3339_UTC.match(user["created_at"])
        assert "password" not in user and "password_hash" not in user

    def test_the_location_shows_the_public_profile(self, users, register):
        user = register()
        response = users.client.get(f"/users/{user['id']}")
        assert response.status_code == 200
        assert response.get_json()["name"] == user["name"]

    def test_announces_the_new_account(self, users, register):
        user = register(roles=["freelancer"])
        [event] = outbox(users, "users.user.registered")
        assert event.data == {"user_id": user["id"], "email": user["email"], "name": user["name"],
                              "roles": ["freelancer"]}
        assert event.producer == "users"

    def test_an_email_is_taken_whatever_its_case(self, users, register):
        register(email="Mixed.Case@Example.com")
        response = users.client.post("/users", json=new_account(email="mixed.case@EXAMPLE.COM"))
        assert response.status_code == 409
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"] == "An account with this email already exists."

    def test_simultaneous_registrations_of_one_email_make_one_account(self, users):
        body = new_account()
        statuses = at_once(4, lambda _: users.app.test_client().post("/users", json=body).status_code)
        assert sorted(statuses) == [201, 409, 409, 409]

    def test_the_name_and_country_are_stored_normalized(self, users):
        user = users.client.post("/users", json=new_account(name="  Alan Turing ", country="de")).get_json()
        assert (user["name"], user["country"]) == ("Alan Turing", "DE")
        public = users.client.get(f"/users/{user['id']}").get_json()
        assert (public["name"], public["country"]) == ("Alan Turing", "DE")


class TestRegistrationIsValidated:
    """What a registration body may hold: decided before the database is asked, so SQLite alone tells it."""

    @pytest.mark.parametrize("length, status", [(9, 422), (10, 201), (128, 201), (129, 422)])
    def test_a_password_has_10_to_128_characters(self, users, length, status):
        response = users.client.post("/users", json=new_account(password="p" * length))
        assert response.status_code == status
        if status == 422:
            assert list(response.get_json()["errors"]) == ["password"]

    @pytest.mark.parametrize("roles", [["client"], ["freelancer"], ["freelancer", "client", "client"]])
    def test_roles_are_a_subset_of_client_and_freelancer(self, users, roles):
        response = users.client.post("/users", json=new_account(roles=roles))
        assert response.status_code == 201
        assert response.get_json()["roles"] == sorted(set(roles))

    @pytest.mark.parametrize("roles", [[], ["moderator"], ["client", "owner"], "client", None])
    def test_roles_must_be_a_non_empty_list_of_known_roles(self, users, roles):
        response = users.client.post("/users", json=new_account(roles=roles))
        assert response.status_code == 422
        assert "roles" in response.get_json()["errors"]

    @pytest.mark.parametrize("roles", [["admin"], ["client", "admin"], ["freelancer", "admin", "client"]])
    def test_admin_can_never_be_self_assigned(self, users, roles):
        response = users.client.post("/users", json=new_account(roles=roles))
        assert response.status_code == 422
        assert response.get_json()["errors"] == {"roles": ["admin can never be self-assigned."]}
        assert outbox(users, "users.user.registered") == []

    def test_unknown_fields_are_refused_by_name(self, users):
        response = users.client.post("/users", json=new_account(status="active", is_admin=True))
        assert response.status_code == 422
        problem = response.get_json()
        assert set(problem["errors"]) == {"status", "is_admin"}
        assert "is_admin" in problem["detail"] and "status" in problem["detail"]

    def test_missing_fields_are_named(self, users):
        response = users.client.post("/users", json={"email": "someone@example.com"})
        assert response.status_code == 422
        assert set(response.get_json()["errors"]) == {"password", "name", "roles"}

    @pytest.mark.parametrize("email", ["not-an-email", "", "a@", 42])
    def test_the_email_must_be_an_email(self, users, email):
        response = users.client.post("/users", json=new_account(email=email))
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == ["email"]

    @pytest.mark.parametrize("name", ["", "   ", "x" * 101])
    def test_the_name_is_1_to_100_characters_besides_spaces(self, users, name):
        response = users.client.post("/users", json=new_account(name=name))
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == ["name"]

    @pytest.mark.parametrize("country", ["XX", "USA", "U", "", 840])
    def test_an_invalid_country_is_refused(self, users, country):
        response = users.client.post("/users", json=new_account(country=country))
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == ["country"]

    def test_malformed_json_is_a_bad_request(self, users):
        response = users.client.post("/users", data=b'{"email": "a@example.com",', content_type="application/json")
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 400

    def test_a_body_that_is_not_an_object_is_refused(self, users):
        response = users.client.post("/users", json=["a@example.com"])
        assert response.status_code == 422

    def test_a_body_over_1_mib_is_too_large(self, users):
        body = new_account(name="x" * (1024 * 1024))
        response = users.client.post("/users", json=body)
        assert response.status_code == 413
        assert response.mimetype == "application/problem+json"
        assert users.client.get("/users").get_json()["items"] == []


class TestPasswordStorage:
    """With the production argon2 parameters (no `fast_hashing`): OWASP's, unless ARGON2_* say otherwise."""

    def test_the_password_is_kept_only_as_a_slow_argon2id_hash(self, harness, settings, make_sqlite_database):
        service = harness(SERVICE, settings, make_sqlite_database("users"))
        user = service.client.post("/users", json=new_account()).get_json()
        stored = stored_hash(service, user["id"])
        assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert PASSWORD not in stored
        owasp = PasswordHasher(memory_cost=19456, time_cost=2, parallelism=1)
        assert not owasp.check_needs_rehash(stored)
        assert owasp.verify(stored, PASSWORD)

    def test_the_parameters_are_the_settings(self, harness, settings, make_sqlite_database):
        own = UsersSettings(argon2_memory_kib=2048, argon2_time_cost=3, argon2_parallelism=2)
        service = harness(SERVICE, settings, make_sqlite_database("users"), service_settings=own)
        user = service.client.post("/users", json=new_account()).get_json()
        assert stored_hash(service, user["id"]).startswith("$argon2id$v=19$m=2048,t=3,p=2$")

    def test_a_hash_with_other_parameters_still_verifies_and_is_renewed_at_login(self, harness, settings,
                                                                                make_sqlite_database):
        cheap = UsersSettings(argon2_memory_kib=1024, argon2_time_cost=1, argon2_parallelism=1)
        service = harness(SERVICE, settings, make_sqlite_database("users"), service_settings=cheap)
        body = new_account()
        user = service.client.post("/users", json=body).get_json()
        library_default = PasswordHasher().hash(PASSWORD)  # what hashes were made with before the settings
        with service.runtime.db.transaction() as session:
            session.get(User, user["id"]).password_hash = library_default
        wrong = service.client.post("/auth/token", json={"email": body["email"], "password": "not it at all"})
        assert wrong.status_code == 401
        assert stored_hash(service, user["id"]) == library_default
        assert service.client.post("/auth/token", json={"email": body["email"], "password": PASSWORD}).status_code == 200
        renewed = stored_hash(service, user["id"])
        assert renewed.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
        assert service.client.post("/auth/token", json={"email": body["email"], "password": PASSWORD}).status_code == 200
        assert stored_hash(service, user["id"]) == renewed


def stored_hash(service, user_id: str) -> str:
    with service.runtime.db.reading() as session:
        return session.scalar(sa.select(User.password_hash).where(User.id == user_id))
