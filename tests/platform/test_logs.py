"""Logs never carry secrets: hostile requests and a failing statement, then the whole log is scanned.

The log is read twice: pytest's caplog at DEBUG (every logger) and the service's own handler as
`configure_logging` installs it (JSON on stderr at DEBUG). Neither, nor any response but the token's
own, may hold a password, its hash, a bearer token, a card number or a bank account's numbers.
"""
from __future__ import annotations

import io
import logging
from datetime import datetime

import pytest
from argon2 import PasswordHasher

from shared.logs import configure_logging
from tests.platform.hostile import build_all
from services.users import accounts

PASSWORD = "hunter2-but-longer-secret"
CARD = "4242424242424242"
ACCOUNT, ROUTING = "99887766554433", "110000000"


@pytest.fixture
def service_log(settings, caplog):
    """The service's own handler (JSON at DEBUG) writing into a buffer, and caplog beside it."""
    root = logging.getLogger()
    kept_handlers, kept_level = root.handlers[:], root.level
    configure_logging(settings.replace(log_level="DEBUG", log_format="json"))
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)
    root.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    yield buffer.getvalue
    root.handlers[:] = kept_handlers
    root.setLevel(kept_level)


def test_no_secret_reaches_a_log_line_or_a_response(harness, settings, make_database, monkeypatch, caplog,
                                                     service_log):
    hashes: list[str] = []

    class Recording(PasswordHasher):
        def hash(self, password, **kwargs):
            hashes.append(super().hash(password, **kwargs))
            return hashes[-1]

    recording = Recording(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "passwords", lambda _settings: accounts.Passwords(recording, recording.hash("x")))
    services = build_all(harness, settings, make_database)
    users, payments = services["users"], services["payments"]
    answers: list[str] = []

    def send(service, method, path, **kwargs):
        response = service.client.open(path, method=method, **kwargs)
        answers.append(response.get_data(as_text=True))
        return response

    registered = send(users, "POST", "/users", json={"email": "ada@example.com", "password": PASSWORD,
                                                     "name": "Ada", "roles": ["client", "freelancer"]})
    assert registered.status_code == 201, registered.get_json()
    token = users.client.post("/auth/token", json={"email": "ada@example.com", "password": PASSWORD}).get_json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    send(users, "POST", "/auth/token", json={"email": "ada@example.com", "password": PASSWORD + "x"})

    # A failing statement that carries a password hash: a time the column cannot bind.
    monkeypatch.setattr(accounts, "utcnow", lambda: datetime(2026, 1, 1))
    failed = send(users, "POST", "/users", json={"email": "c@example.com", "password": PASSWORD, "name": "C",
                                                 "roles": ["client"]})
    assert failed.status_code == 500 and failed.mimetype == "application/problem+json"

    # Hostile and failing money requests carrying card and account numbers.
    pay = payments.headers(registered.get_json()["id"], ["client", "freelancer"])
    send(payments, "POST", "/payments/deposits", json={"amount": 1000, "card_number": CARD}, headers=pay)
    send(payments, "POST", "/payments/deposits", json={"amount": 10 ** 30, "card_number": CARD}, headers=pay)
    send(payments, "POST", "/payments/deposits", data='{"amount": 1000, "card_number": "' + CARD + '\\u0000"}',
         content_type="application/json", headers=pay)
    destination = {"type": "bank_account", "account_number": ACCOUNT, "routing_number": ROUTING}
    send(payments, "POST", "/payments/payouts", json={"amount": 10 ** 12, "destination": destination}, headers=pay)
    send(payments, "POST", "/payments/payouts", json={"amount": 100, "destination": {**destination, "x": "\x00"}},
         headers=pay)
    send(users, "GET", "/users/me", headers=bearer)
    send(users, "GET", "/users/me", headers={"Authorization": f"Bearer {token['access_token']}x"})

    assert hashes, "the test's registrations hashed no password"
    secrets = {"password": PASSWORD, "bearer token": token["access_token"], "card number": CARD,
               "account number": ACCOUNT}
    for number, hashed in enumerate(hashes):
        # Any 12 characters of a hash's salt or digest: a log line may cut a long value in the middle.
        salt, digest = hashed.split("$")[-2:]
        for part in (salt, digest):
            secrets.update({f"piece {part[i:i + 12]} of password hash {number}": part[i:i + 12] for i in range(len(part) - 11)})
    logged = "\n".join(record.getMessage() + "\n" + (caplog.handler.formatter or logging.Formatter()).format(record)
                       for record in caplog.records)
    own = service_log()
    assert "unhandled error" in logged and "unhandled error" in own, "the failing statement was not logged"
    for what, secret in secrets.items():
        assert secret not in logged, f"a {what} reached the log (caplog): {secret}"
        assert secret not in own, f"a {what} reached the service's log"
        for answer in answers:
            assert secret not in answer, f"a {what} reached a response"
