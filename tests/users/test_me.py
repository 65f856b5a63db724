"""The caller's own account: `GET /users/me` and `PATCH /users/me`."""
from __future__ import annotations

import pytest


class TestOwnAccount:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def test_shows_the_email_and_the_profile(self, users, account):
        response = users.client.get("/users/me", headers=account["headers"])
        assert response.status_code == 200
        me = response.get_json()
        assert me["email"] == account["email"]
        assert me["profile"] == {"title": None, "bio": None, "hourly_rate": None, "skills": []}
        assert me["roles"] == ["freelancer"] and me["status"] == "active" and me["country"] is None

    def test_a_suspended_account_keeps_no_access_with_an_old_token(self, users, account, admin_headers):
        users.client.post(f"/users/{account['id']}/suspend", json={"reason": "spam"}, headers=admin_headers)
        response = users.client.get("/users/me", headers=account["headers"])
        assert response.status_code == 403


class TestUpdateOwnAccount:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def patch(self, users, account, body):
        return users.client.patch("/users/me", json=body, headers=account["headers"])

    def test_changes_only_the_fields_given(self, users, account):
        first = self.patch(users, account, {"name": "Ada King", "country": "GB",
                                            "profile": {"title": "Analyst", "hourly_rate": 9000, "skills": ["Math"]}})
        assert first.status_code == 200
        second = self.patch(users, account, {"profile": {"bio": "Notes on the engine."}})
        assert second.status_code == 200
        me = users.client.get("/users/me", headers=account["headers"]).get_json()
        assert (me["name"], me["country"], me["email"]) == ("Ada King", "GB", account["email"])
        assert me["profile"] == {"title": "Analyst", "bio": "Notes on the engine.", "hourly_rate": 9000,
                                 "skills": ["Math"]}
        assert second.get_json() == me

    def test_profile_fields_can_be_cleared_with_null(self, users, account):
        self.patch(users, account, {"profile": {"title": "Analyst", "bio": "Hello"}})
        me = self.patch(users, account, {"profile": {"title": None}}).get_json()
        assert me["profile"]["title"] is None and me["profile"]["bio"] == "Hello"

    def test_an_empty_patch_changes_nothing(self, users, account):
        before = users.client.get("/users/me", headers=account["headers"]).get_json()
        response = self.patch(users, account, {})
        assert response.status_code == 200
        assert response.get_json() == before

    def test_skills_are_deduplicated_whatever_their_case(self, users, account):
        me = self.patch(users, account, {"profile": {"skills": ["Python", "python", " Go ", "PYTHON", "go"]}})
        assert me.get_json()["profile"]["skills"] == ["Python", "Go"]

    def test_skills_are_replaced_as_a_whole(self, users, account):
        self.patch(users, account, {"profile": {"skills": ["Python", "Go"]}})
        response = self.patch(users, account, {"profile": {"skills": ["go", "Rust"]}})
        stored = users.client.get("/users/me", headers=account["headers"]).get_json()
        assert response.get_json()["profile"]["skills"] == stored["profile"]["skills"] == ["go", "Rust"]

    def test_a_lowercase_country_is_stored_uppercase(self, users, account):
        assert self.patch(users, account, {"country": "fr"}).get_json()["country"] == "FR"
        assert users.client.get(f"/users/{account['id']}").get_json()["country"] == "FR"

    def test_leaves_other_accounts_alone(self, users, account, register):
        other = register(name="Charles Babbage")
        self.patch(users, account, {"name": "Ada King"})
        assert users.client.get(f"/users/{other['id']}").get_json()["name"] == "Charles Babbage"


class TestOwnAccountRefusals:
    """Refused before the database is asked (the account behind a token need not even exist)."""

    @pytest.fixture
    def headers(self, users):
        return users.headers("someone", ["client"])

    def test_needs_a_token(self, users):
        assert users.client.get("/users/me").status_code == 401

    def test_a_change_needs_a_token_before_its_body_is_read(self, users):
        assert users.client.patch("/users/me", json={"roles": ["admin"]}).status_code == 401

    @pytest.mark.parametrize("field, value", [("roles", ["client", "admin"]), ("email", "new@example.com"),
                                              ("id", "00000000-0000-0000-0000-000000000000"), ("status", "active")])
    def test_roles_email_and_id_are_not_writable(self, users, headers, field, value):
        response = users.client.patch("/users/me", json={field: value}, headers=headers)
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == [field]

    @pytest.mark.parametrize("body, field", [
        ({"name": "  "}, "name"),
        ({"country": "XX"}, "country"),
        ({"profile": {"hourly_rate": 12.5}}, "profile.hourly_rate"),
        ({"profile": {"hourly_rate": "100"}}, "profile.hourly_rate"),
        ({"profile": {"hourly_rate": -1}}, "profile.hourly_rate"),
        ({"profile": {"hourly_rate": True}}, "profile.hourly_rate"),
        ({"profile": {"skills": ["Python", " "]}}, "profile.skills.1"),
        ({"profile": {"skills": "Python"}}, "profile.skills"),
        ({"profile": {"rating": 5}}, "profile.rating"),
        ({"profile": None}, "profile"),
    ])
    def test_invalid_fields_are_named(self, users, headers, body, field):
        response = users.client.patch("/users/me", json=body, headers=headers)
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == [field]

    def test_malformed_json_is_a_bad_request(self, users, headers):
        response = users.client.patch("/users/me", data=b"{name:", content_type="application/json", headers=headers)
        assert response.status_code == 400
