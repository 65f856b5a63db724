"""Which bearer tokens the service accepts: only its own, unexpired, EdDSA-signed, for this audience."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64(data: bytes | dict) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TestAccessTokens:
    """Verification ends before the database does anything, so SQLite alone tells the story."""

    @pytest.fixture
    def user_id(self, register):
        return register()["id"]

    @pytest.fixture
    def keys(self, users):
        return users.app.extensions["tokens"].keys

    @pytest.fixture
    def me(self, users):
        """`me(token)`: the status of `GET /users/me` with this bearer token."""

        def get(token: str) -> int:
            response = users.client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 401:
                assert response.mimetype == "application/problem+json"
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            return response.status_code

        return get

    def claims(self, user_id: str, **changes) -> dict:
        now = int(time.time())
        claims = {"sub": user_id, "roles": ["client"], "iat": now, "exp": now + 600,
                  "iss": "marketplace", "aud": "marketplace", **changes}
        return {name: value for name, value in claims.items() if value is not None}

    def test_a_token_signed_by_the_service_is_accepted(self, user_id, keys, me):
        assert me(jwt.encode(self.claims(user_id), keys.private, algorithm="EdDSA")) == 200

    def test_no_token_is_unauthorized(self, users):
        response = users.client.get("/users/me")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"])
    def test_another_scheme_or_an_empty_token_is_unauthorized(self, users, header):
        assert users.client.get("/users/me", headers={"Authorization": header}).status_code == 401

    def test_an_expired_token_is_unauthorized(self, users, user_id, keys):
        token = jwt.encode(self.claims(user_id, iat=int(time.time()) - 7200, exp=int(time.time()) - 60),
                           keys.private, algorithm="EdDSA")
        response = users.client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert "expired" in response.get_json()["detail"]

    def test_a_tampered_payload_is_unauthorized(self, user_id, keys, me):
        header, _, signature = jwt.encode(self.claims(user_id), keys.private, algorithm="EdDSA").split(".")
        forged = b64(self.claims(user_id, roles=["client", "admin"]))
        assert me(f"{header}.{forged}.{signature}") == 401

    def test_a_token_signed_with_another_ed25519_key_is_unauthorized(self, user_id, keys, me):
        stranger = Ed25519PrivateKey.generate()
        assert me(jwt.encode(self.claims(user_id), stranger, algorithm="EdDSA", headers={"kid": keys.kid})) == 401

    def test_an_unsigned_alg_none_token_is_unauthorized(self, user_id, me):
        token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(self.claims(user_id))}."
        assert me(token) == 401

    def test_an_hs256_token_keyed_with_the_public_key_is_unauthorized(self, user_id, keys, me):
        public_pem = keys.public.public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        raw = keys.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        for secret in (public_pem, raw):
            signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{b64(self.claims(user_id))}"
            signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            assert me(f"{signing_input}.{b64(signature)}") == 401

    @pytest.mark.parametrize("changes", [
        {"aud": None}, {"aud": "another-marketplace"}, {"iss": "someone-else"}, {"iss": None},
        {"exp": None}, {"sub": None}, {"roles": "admin"}, {"roles": [1]},
    ], ids=["no-aud", "wrong-aud", "wrong-iss", "no-iss", "no-exp", "no-sub", "roles-not-a-list", "roles-not-text"])
    def test_a_token_with_wrong_or_missing_claims_is_unauthorized(self, user_id, keys, me, changes):
        assert me(jwt.encode(self.claims(user_id, **changes), keys.private, algorithm="EdDSA")) == 401

    def test_garbage_is_unauthorized(self, me):
        assert me("not.a.jwt") == 401

    def test_a_valid_token_for_an_account_that_does_not_exist_is_unauthorized(self, users):
        assert users.client.get("/users/me", headers=users.headers("no-such-user")).status_code == 401
