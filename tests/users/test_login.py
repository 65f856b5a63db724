"""Signing in: `POST /auth/token`, its throttle, and the keys that verify its tokens."""
from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
import sqlalchemy as sa

from services.users.models import LoginFailure
from tests.users.helpers import at_once


def age_failures(service, by: timedelta) -> None:
    """Move every recorded login failure `by` into the past."""
    with service.runtime.db.transaction() as session:
        for failure in session.scalars(sa.select(LoginFailure)):
            failure.at -= by


class TestLogin:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def test_trades_credentials_for_a_bearer_token(self, users, register, login):
        user = register(roles=["client", "freelancer"])
        response = login(user["email"])
        assert response.status_code == 200
        body = response.get_json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 3600
        me = users.client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 200
        assert me.get_json()["id"] == user["id"]

    def test_the_token_carries_the_promised_claims(self, users, register, login):
        user = register(roles=["freelancer"])
        token = login(user["email"]).get_json()["access_token"]
        [key] = users.client.get("/auth/jwks.json").get_json()["keys"]
        public = jwt.PyJWK.from_json(json.dumps(key))
        claims = jwt.decode(token, public, algorithms=["EdDSA"], audience="marketplace", issuer="marketplace")
        assert claims["sub"] == user["id"]
        assert claims["roles"] == ["freelancer"]
        assert claims["exp"] - claims["iat"] == 3600
        assert jwt.get_unverified_header(token)["kid"] == key["kid"]

    def test_the_email_is_matched_whatever_its_case(self, register, login):
        register(email="Case.Study@Example.com")
        assert login("case.study@example.COM").status_code == 200

    def test_a_wrong_password_and_an_unknown_email_look_the_same(self, register, login):
        user = register()
        wrong_password = login(user["email"], "not the password")
        unknown_email = login("nobody@example.com")
        assert wrong_password.status_code == unknown_email.status_code == 401
        assert wrong_password.get_json() == unknown_email.get_json()
        assert wrong_password.mimetype == "application/problem+json"
        assert wrong_password.headers["WWW-Authenticate"] == unknown_email.headers["WWW-Authenticate"]

    def test_a_suspended_user_with_the_right_password_is_forbidden(self, users, register, login, admin_headers):
        user = register()
        users.client.post(f"/users/{user['id']}/suspend", json={"reason": "fraud"}, headers=admin_headers)
        assert login(user["email"]).status_code == 403
        assert login(user["email"], "not the password").status_code == 401

    def test_both_fields_are_required(self, users):
        response = users.client.post("/auth/token", json={"email": "a@example.com"})
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == ["password"]


class TestLoginThrottle:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def test_five_failures_lock_the_email_even_for_the_right_password(self, register, login):
        user = register()
        for _ in range(5):
            assert login(user["email"], "guessing wrong").status_code == 401
        response = login(user["email"])
        assert response.status_code == 429
        assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
        assert response.mimetype == "application/problem+json"

    def test_an_unknown_email_is_throttled_the_same_way(self, login):
        for _ in range(5):
            assert login("nobody@example.com", "guessing wrong").status_code == 401
        assert login("NOBODY@example.com", "guessing wrong").status_code == 429

    def test_other_emails_are_not_affected(self, register, login):
        target, bystander = register(), register()
        for _ in range(5):
            login(target["email"], "guessing wrong")
        assert login(bystander["email"]).status_code == 200

    def test_four_failures_are_not_enough(self, register, login):
        user = register()
        for _ in range(4):
            login(user["email"], "guessing wrong")
        assert login(user["email"]).status_code == 200

    def test_the_lock_lifts_once_the_window_has_passed(self, users, register, login):
        user = register()
        for _ in range(5):
            login(user["email"], "guessing wrong")
        assert login(user["email"]).status_code == 429
        age_failures(users, timedelta(minutes=15, seconds=1))
        assert login(user["email"]).status_code == 200

    def test_failures_older_than_the_window_are_forgotten(self, users, register, login):
        user = register()
        for _ in range(5):
            login(user["email"], "guessing wrong")
        age_failures(users, timedelta(minutes=16))
        login(user["email"], "guessing wrong")
        with users.runtime.db.transaction() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 1

    def test_retry_after_counts_down_to_the_oldest_failure_leaving_the_window(self, users, register, login):
        user = register()
        for _ in range(5):
            login(user["email"], "guessing wrong")
        age_failures(users, timedelta(minutes=10))
        retry_after = int(login(user["email"]).headers["Retry-After"])
        assert 4 * 60 <= retry_after <= 5 * 60

    def test_parallel_guesses_get_no_more_than_five_tries(self, users, register):
        user = register()

        def guess(number: int) -> int:
            credentials = {"email": user["email"], "password": f"guess number {number}"}
            return users.app.test_client().post("/auth/token", json=credentials).status_code

        statuses = at_once(12, guess)
        assert sorted(statuses) == [401] * 5 + [429] * 7


class TestSigningKeys:
    def test_jwks_publishes_only_the_public_key(self, users):
        response = users.client.get("/auth/jwks.json")
        assert response.status_code == 200
        [key] = response.get_json()["keys"]
        assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA"
        assert set(key) == {"kty", "crv", "x", "kid", "use", "alg"}
        assert "d" not in key

    def test_tokens_for_anyone_verify_with_the_published_key(self, users):
        token = users.headers("someone", ["client"])["Authorization"].removeprefix("Bearer ")
        [key] = users.client.get("/auth/jwks.json").get_json()["keys"]
        claims = jwt.decode(token, jwt.PyJWK.from_json(json.dumps(key)), algorithms=["EdDSA"],
                            audience="marketplace", issuer="marketplace")
        assert claims["sub"] == "someone"
