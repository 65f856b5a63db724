"""Suspending accounts (`POST /users/{id}/suspend`) and the operator's admin who may do it."""
from __future__ import annotations

import pytest

from services.users import SERVICE, accounts
from services.users.settings import UsersSettings
from tests.support import new_id
from tests.users.helpers import at_once, new_account, outbox


class TestSuspend:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def suspend(self, users, user_id, headers, reason="Fraudulent listings"):
        return users.client.post(f"/users/{user_id}/suspend", json={"reason": reason}, headers=headers)

    def test_an_admin_suspends_an_account(self, users, account, admin_headers):
        response = self.suspend(users, account["id"], admin_headers)
        assert response.status_code == 200
        user = response.get_json()
        assert user["status"] == "suspended"
        assert user["id"] == account["id"] and user["email"] == account["email"]

    def test_announces_the_suspension(self, users, account, admin_headers):
        self.suspend(users, account["id"], admin_headers, reason="Chargebacks")
        [event] = outbox(users, "users.user.suspended")
        assert event.data == {"user_id": account["id"], "reason": "Chargebacks"}
        assert event.producer == "users" and event.version == 1

    def test_the_correlation_id_of_the_request_is_echoed_and_carried_by_the_event(self, users, account,
                                                                                   admin_headers):
        correlation = f"support-ticket-{new_id()}"
        response = self.suspend(users, account["id"], {**admin_headers, "X-Correlation-ID": correlation})
        assert response.headers["X-Correlation-ID"] == correlation
        [event] = outbox(users, "users.user.suspended")
        assert event.correlation_id == correlation

    def test_other_accounts_stay_active(self, users, account, register, login, admin_headers):
        bystander = register()
        self.suspend(users, account["id"], admin_headers)
        assert users.client.get(f"/users/{bystander['id']}").status_code == 200
        assert login(bystander["email"]).status_code == 200

    def test_suspending_twice_is_a_conflict(self, users, account, admin_headers):
        self.suspend(users, account["id"], admin_headers)
        response = self.suspend(users, account["id"], admin_headers)
        assert response.status_code == 409
        assert len(outbox(users, "users.user.suspended")) == 1

    def test_an_unknown_account_is_not_found(self, users, admin_headers):
        assert self.suspend(users, new_id(), admin_headers).status_code == 404
        assert outbox(users, "users.user.suspended") == []

    def test_a_user_without_the_admin_role_changes_nothing(self, users, account):
        response = self.suspend(users, account["id"], account["headers"])
        assert response.status_code == 403
        assert users.client.get(f"/users/{account['id']}").status_code == 200
        assert outbox(users, "users.user.suspended") == []

    def test_an_admin_cannot_suspend_their_own_account(self, users, register):
        admin = register()
        response = self.suspend(users, admin["id"], users.headers(admin["id"], ["admin"]))
        assert response.status_code == 409


class TestSuspendRefusals:
    """Refused before the account is looked up, so SQLite alone tells the story."""

    @pytest.mark.parametrize("body, field", [
        ({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "  "}, "reason"), ({"reason": 3}, "reason"),
        ({"reason": "spam", "until": "2027-01-01"}, "until"),
    ])
    def test_the_reason_is_required_and_checked_before_the_account(self, users, admin_headers, body, field):
        response = users.client.post(f"/users/{new_id()}/suspend", json=body, headers=admin_headers)
        assert response.status_code == 422
        assert list(response.get_json()["errors"]) == [field]

    @pytest.mark.parametrize("roles", [["client"], ["freelancer"], ["client", "freelancer"]])
    def test_only_an_admin_may_suspend(self, users, roles):
        response = users.client.post(f"/users/{new_id()}/suspend", json={"reason": "spam"},
                                     headers=users.headers(new_id(), roles))
        assert response.status_code == 403

    def test_a_non_admin_is_forbidden_before_the_body_is_read(self, users):
        response = users.client.post(f"/users/{new_id()}/suspend", json={}, headers=users.headers(new_id()))
        assert response.status_code == 403

    def test_without_a_token_it_is_unauthorized_before_the_body_is_read(self, users):
        for body in ({"reason": "spam"}, {}):
            response = users.client.post(f"/users/{new_id()}/suspend", json=body)
            assert response.status_code == 401


class TestOperatorAdmin:
    ADMIN = {"admin_email": "Operator@Example.com", "admin_password": "operator secret 123"}

    @pytest.fixture
    def operated(self, harness, settings, make_database, fast_hashing):
        """The service started with ADMIN_EMAIL/ADMIN_PASSWORD, on both databases."""
        return harness(SERVICE, settings, make_database("users"), service_settings=fast_hashing.replace(**self.ADMIN))

    def admin_token(self, service, password: str = ADMIN["admin_password"]) -> dict:
        response = service.client.post("/auth/token", json={"email": "operator@example.com", "password": password})
        assert response.status_code == 200
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    def test_the_operators_admin_signs_in_and_suspends(self, operated):
        user = operated.client.post("/users", json=new_account()).get_json()
        admin = self.admin_token(operated)
        assert operated.client.get("/users/me", headers=admin).get_json()["roles"] == ["admin"]
        response = operated.client.post(f"/users/{user['id']}/suspend", json={"reason": "spam"}, headers=admin)
        assert response.status_code == 200
        assert response.get_json()["status"] == "suspended"

    def test_the_admins_email_cannot_be_registered_again(self, operated):
        response = operated.client.post("/users", json=new_account(email="operator@example.com"))
        assert response.status_code == 409

    def test_a_restart_keeps_one_admin_and_takes_a_new_password(self, operated, harness, settings):
        admin_id = operated.client.get("/users/me", headers=self.admin_token(operated)).get_json()["id"]
        rotated = {**self.ADMIN, "admin_password": "rotated secret 456"}
        restarted = harness(SERVICE, settings, operated.runtime.db, service_settings=UsersSettings(**rotated))
        admin = self.admin_token(restarted, rotated["admin_password"])
        assert restarted.client.get("/users/me", headers=admin).get_json()["id"] == admin_id
        stale = {"email": "operator@example.com", "password": self.ADMIN["admin_password"]}
        assert restarted.client.post("/auth/token", json=stale).status_code == 401
        assert restarted.client.get("/users", query_string={"q": "Administrator"}).get_json()["items"] == [
            restarted.client.get(f"/users/{admin_id}").get_json()]

    def test_without_operator_settings_there_is_no_admin(self, users):
        credentials = {"email": "operator@example.com", "password": self.ADMIN["admin_password"]}
        assert users.client.post("/auth/token", json=credentials).status_code == 401

    def test_processes_starting_together_make_one_admin(self, any_users):
        """What every gunicorn worker does at start, at the same moment."""
        def boot(_):
            with any_users.runtime.unit_of_work() as uow:
                accounts.ensure_admin(uow, email=self.ADMIN["admin_email"], password=self.ADMIN["admin_password"])

        assert at_once(4, boot) == [None] * 4
        admins = any_users.client.get("/users", query_string={"q": "Administrator"}).get_json()["items"]
        assert [admin["roles"] for admin in admins] == [["admin"]]
