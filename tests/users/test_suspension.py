"""Suspending accounts (`POST /users/{id}/suspend`) and the operator's admin who may do it."""
from __future__ import annotations

import pytest

import sqlalchemy as sa

from services.users import SERVICE, accounts
from services.users.models import UserRole
from services.users.settings import UsersSettings
from tests.support import assert_suspended_refusal, new_id
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


def admins_in(service) -> list[str]:
    """The ids of the admin accounts, from the database (the public search does not list them)."""
    with service.runtime.db.transaction() as session:
        return list(session.scalars(sa.select(UserRole.user_id).where(UserRole.role == "admin")))


class TestSuspendedAccountsWrites:
    def test_a_suspended_accounts_token_changes_nothing(self, users, account, admin_headers):
        users.client.post(f"/users/{account['id']}/suspend", json={"reason": "spam"}, headers=admin_headers)
        response = users.client.patch("/users/me", json={"name": "Still here"}, headers=account["headers"])
        assert_suspended_refusal(response)

    def test_a_suspended_admins_token_suspends_nobody(self, users, register):
        admin, other = register(), register()
        with users.runtime.unit_of_work() as uow:
            accounts.suspend(uow, admin_id=new_id(), user_id=admin["id"], reason="Compromised")
        response = users.client.post(f"/users/{other['id']}/suspend", json={"reason": "spam"},
                                     headers=users.headers(admin["id"], ["admin"]))
        assert_suspended_refusal(response)
        assert users.client.get(f"/users/{other['id']}").status_code == 200

    def test_signing_in_names_the_suspension(self, users, account, login, admin_headers):
        users.client.post(f"/users/{account['id']}/suspend", json={"reason": "spam"}, headers=admin_headers)
        assert_suspended_refusal(login(account["email"]))


class TestReinstate:
    @pytest.fixture
    def users(self, any_users):
        return any_users

    def reinstate(self, users, user_id, headers):
        return users.client.post(f"/users/{user_id}/reinstate", headers=headers)

    def test_an_admin_reinstates_a_suspended_account(self, users, account, admin_headers, login):
        users.client.post(f"/users/{account['id']}/suspend", json={"reason": "spam"}, headers=admin_headers)
        response = self.reinstate(users, account["id"], admin_headers)
        assert response.status_code == 200
        assert response.get_json()["status"] == "active" and response.get_json()["id"] == account["id"]
        assert login(account["email"]).status_code == 200
        assert users.client.get(f"/users/{account['id']}").status_code == 200
        changed = users.client.patch("/users/me", json={"name": "Back again"}, headers=account["headers"])
        assert changed.status_code == 200

    def test_announces_the_reinstatement(self, users, account, admin_headers):
        users.client.post(f"/users/{account['id']}/suspend", json={"reason": "spam"}, headers=admin_headers)
        self.reinstate(users, account["id"], admin_headers)
        [event] = outbox(users, "users.user.reinstated")
        assert event.data["user_id"] == account["id"] and event.data["reinstated_at"].endswith("Z")
        assert event.producer == "users"

    def test_an_active_account_is_a_conflict(self, users, account, admin_headers):
        response = self.reinstate(users, account["id"], admin_headers)
        assert response.status_code == 409
        assert response.get_json()["detail"] == "This account is not suspended."
        assert outbox(users, "users.user.reinstated") == []

    def test_an_unknown_account_is_not_found(self, users, admin_headers):
        assert self.reinstate(users, new_id(), admin_headers).status_code == 404

    def test_only_an_admin_may_reinstate(self, users, account, admin_headers):
        users.client.post(f"/users/{account['id']}/suspend", json={"reason": "spam"}, headers=admin_headers)
        assert self.reinstate(users, account["id"], users.headers(new_id(), ["client"])).status_code == 403
        assert self.reinstate(users, account["id"], {}).status_code == 401
        assert outbox(users, "users.user.reinstated") == []

    def test_a_reinstated_account_can_be_suspended_again(self, users, account, admin_headers):
        for _ in range(2):
            assert users.client.post(f"/users/{account['id']}/suspend", json={"reason": "spam"},
                                     headers=admin_headers).status_code == 200
            assert self.reinstate(users, account["id"], admin_headers).status_code == 200
        assert len(outbox(users, "users.user.suspended")) == 2


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
        assert admins_in(restarted) == [admin_id]

    def test_without_operator_settings_there_is_no_admin(self, users):
        credentials = {"email": "operator@example.com", "password": self.ADMIN["admin_password"]}
        assert users.client.post("/auth/token", json=credentials).status_code == 401

    def test_processes_starting_together_make_one_admin(self, any_users):
        """What every gunicorn worker does at start, at the same moment."""
        def boot(_):
            with any_users.runtime.unit_of_work() as uow:
                accounts.ensure_admin(uow, email=self.ADMIN["admin_email"], password=self.ADMIN["admin_password"])

        assert at_once(4, boot) == [None] * 4
        assert len(admins_in(any_users)) == 1
