"""What anyone may see of others: `GET /users/{id}` and `GET /users`."""
from __future__ import annotations

import base64
import json

import pytest

from services.users import accounts
from services.users.models import User

from tests.support import new_id


@pytest.fixture
def freelancer(users, register):
    """`freelancer(name=…, title=…, bio=…, skills=[…], **account)`: an account with that profile."""

    def make(name="Ada Lovelace", title=None, bio=None, skills=(), roles=("freelancer",), **fields) -> dict:
        user = register(name=name, roles=list(roles), **fields)
        response = users.client.patch("/users/me", headers=users.headers(user["id"], user["roles"]), json={
            "profile": {"title": title, "bio": bio, "skills": list(skills)}})
        assert response.status_code == 200
        return response.get_json()

    return make


class TestPublicProfile:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def test_shows_anyone_the_profile_without_the_email(self, users, freelancer):
        user = freelancer(title="Engine analyst", skills=["Math"], country="gb")
        response = users.client.get(f"/users/{user['id']}")
        assert response.status_code == 200
        profile = response.get_json()
        assert "email" not in profile
        assert profile == {key: value for key, value in user.items() if key != "email"}

    def test_another_users_token_does_not_reveal_the_email(self, users, account):
        response = users.client.get(f"/users/{account['id']}", headers=users.headers(new_id(), ["client"]))
        assert "email" not in response.get_json()

    def test_an_unknown_id_is_not_found(self, users):
        for path in (f"/users/{new_id()}", "/users/not-a-uuid"):
            response = users.client.get(path)
            assert response.status_code == 404
            assert response.mimetype == "application/problem+json"

    def test_a_suspended_account_is_not_found(self, users, account, admin_headers):
        users.client.post(f"/users/{account['id']}/suspend", json={"reason": "spam"}, headers=admin_headers)
        assert users.client.get(f"/users/{account['id']}").status_code == 404


class TestSearch:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def search(self, users, **params) -> list[dict]:
        response = users.client.get("/users", query_string=params)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def names(self, users, **params) -> set[str]:
        return {user["name"] for user in self.search(users, **params)}

    def test_lists_active_users_newest_first_without_emails(self, users, freelancer):
        first, second = freelancer(name="First"), freelancer(name="Second")
        response = users.client.get("/users")
        page = response.get_json()
        assert [user["id"] for user in page["items"]] == [second["id"], first["id"]]
        assert page["next_cursor"] is None
        assert all("email" not in user for user in page["items"])
        assert first["email"] not in response.get_data(as_text=True)

    def test_filters_by_role(self, users, freelancer):
        freelancer(name="Only client", roles=["client"])
        freelancer(name="Only freelancer", roles=["freelancer"])
        freelancer(name="Both", roles=["client", "freelancer"])
        assert self.names(users, role="freelancer") == {"Only freelancer", "Both"}
        assert self.names(users, role="client") == {"Only client", "Both"}

    def test_a_skill_matches_exactly_whatever_its_case(self, users, freelancer):
        freelancer(name="Pythonista", skills=["Python", "Django"])
        freelancer(name="Near miss", skills=["Python3", "Pythonic"])
        freelancer(name="Shouter", skills=["PYTHON"])
        assert self.names(users, skill="python") == {"Pythonista", "Shouter"}
        assert self.names(users, skill="pYtHoN") == {"Pythonista", "Shouter"}
        assert self.names(users, skill="pyth") == set()

    def test_an_admin_account_is_not_listed(self, users, freelancer):
        client = freelancer(name="Ada Admin-Client", roles=["client"])
        with users.runtime.unit_of_work() as uow:
            accounts.ensure_admin(uow, email="operator@example.com", password="operator secret 123")
            uow.session.get(User, client["id"]).grant("admin")  # an account that is also an admin
        bystander = freelancer(name="Bob Builder")
        assert [user["id"] for user in self.search(users)] == [bystander["id"]]
        assert self.search(users, q="Admin") == [] and self.search(users, q="Administrator") == []
        assert self.search(users, role="client") == []

    def test_q_searches_name_title_and_bio(self, users, freelancer):
        freelancer(name="Grace Hopper")
        freelancer(name="By title", title="COBOL grace notes")
        freelancer(name="By bio", bio="Writes with GRACE and speed.")
        freelancer(name="Unrelated", title="Plumber", bio="Pipes.")
        assert self.names(users, q="grace") == {"Grace Hopper", "By title", "By bio"}

    def test_q_takes_wildcard_characters_literally(self, users, freelancer):
        freelancer(name="Percent", bio="Gives 100% always")
        freelancer(name="Plain", bio="Gives 1000 always")
        freelancer(name="Under_score")
        freelancer(name="Underscore")
        assert self.names(users, q="100%") == {"Percent"}
        assert self.names(users, q="r_s") == {"Under_score"}

    def test_filters_combine(self, users, freelancer):
        freelancer(name="Data freelancer", skills=["SQL"], bio="data work")
        freelancer(name="Data client", roles=["client"], skills=["SQL"], bio="data work")
        freelancer(name="Other freelancer", skills=["SQL"], bio="design work")
        assert self.names(users, role="freelancer", skill="sql", q="data") == {"Data freelancer"}

    def test_pages_through_with_limit_and_cursor(self, users, freelancer):
        made = [freelancer(name=f"Person {i}")["id"] for i in range(5)]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = users.client.get("/users", query_string=params).get_json()
            assert len(page["items"]) <= 2
            seen += [user["id"] for user in page["items"]]
            pages, cursor = pages + 1, page["next_cursor"]
            if cursor is None:
                break
        assert pages == 3
        assert seen == list(reversed(made))

    def test_suspended_users_are_absent(self, users, freelancer, admin_headers):
        kept, gone = freelancer(name="Kept", skills=["Go"]), freelancer(name="Gone", skills=["Go"])
        users.client.post(f"/users/{gone['id']}/suspend", json={"reason": "spam"}, headers=admin_headers)
        assert self.names(users) == {"Kept"}
        assert self.names(users, skill="go", role="freelancer", q="e") == {kept["name"]}

    def test_another_users_email_never_shows(self, users, freelancer):
        user = freelancer(name="Private Person")
        response = users.client.get("/users", query_string={"q": user["email"]})
        assert response.get_json()["items"] == []
        assert user["email"] not in users.client.get("/users").get_data(as_text=True)


class TestSearchIsValidated:
    @pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "2.5"])
    def test_a_bad_limit_is_refused(self, users, limit):
        response = users.client.get("/users", query_string={"limit": limit})
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == ["limit"]

    def test_limit_accepts_1_to_100(self, users):
        assert users.client.get("/users?limit=1").status_code == 200
        assert users.client.get("/users?limit=100").status_code == 200

    @pytest.mark.parametrize("cursor", [
        "garbage", base64.urlsafe_b64encode(b'["2026-11-26T12:00:00", "x"]').decode(),
        base64.urlsafe_b64encode(json.dumps({"a": 1}).encode()).decode(),
    ], ids=["not-base64-json", "naive-time", "not-a-pair"])
    def test_a_cursor_not_from_this_api_is_refused(self, users, cursor):
        response = users.client.get("/users", query_string={"cursor": cursor})
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == ["cursor"]

    @pytest.mark.parametrize("params, field", [({"role": "admin"}, "role"), ({"role": "boss"}, "role"),
                                               ({"skill": ""}, "skill"), ({"q": ""}, "q")])
    def test_bad_filter_values_are_named(self, users, params, field):
        response = users.client.get("/users", query_string=params)
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == [field]
