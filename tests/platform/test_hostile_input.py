"""No input is a 500: each hostile input is a 400/422 problem+json naming the field, on both databases.

The rules live once in the kit (shared/http/guard.py and the fields of shared/events/fields.py); these
stories send each kind of input to the services that take it, on SQLite and on PostgreSQL (which refuses
NUL in text and bounds integers and varchar columns: where the 500s came from).
"""
from __future__ import annotations

import base64
import inspect
import json

import pytest
from marshmallow import fields as mfields

from marketplace import registry
from shared.events import fields as kit
from shared.http.schemas import InSchema
from shared.ids import new_id
from tests.platform.hostile import RecordingCards, own_settings

PROBLEM = "application/problem+json"


@pytest.fixture
def build(harness, settings, make_database, monkeypatch):
    """`build(name)`: one service on this test's database kind (SQLite, then PostgreSQL)."""
    from services.payments.bank import SandboxBank

    def make(name: str, **collaborators):
        if name == "payments":
            collaborators = {"bank": SandboxBank(delay=(0.0, 0.0)), "cards": RecordingCards(), **collaborators}
        return harness(registry.get(name), settings, make_database(name), collaborators=collaborators or None,
                       service_settings=own_settings(name))

    return make


def refused(response, field: str, statuses=(400, 422)) -> dict:
    body = response.get_json()
    assert response.status_code in statuses, (response.status_code, body)
    assert response.mimetype == PROBLEM
    assert field in body.get("errors", {}), body
    return body


def cursor_of(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


class TestTextNoDatabaseStores:
    def test_nul_and_lone_surrogates_in_a_body(self, build):
        users = build("users")
        for name in ("Ada\x00Lovelace", "Ada\ud800"):
            body = {"email": f"{new_id()[:8]}@example.com", "password": "correct horse battery",
                    "name": name, "roles": ["client"]}
            response = users.client.post("/users", data=json.dumps(body), content_type="application/json")
            refused(response, "body.name", statuses=(400,))

    def test_nul_in_a_key_a_nested_string_and_a_list(self, build):
        jobs = build("jobs")
        headers = jobs.headers(new_id(), ["client"])
        body = {"title": "A fine job", "description": "x", "budget_type": "fixed", "budget_amount": 1000,
                "skills": ["python", "c\x00"]}
        refused(jobs.client.post("/jobs", json=body, headers=headers), "body.skills[1]", statuses=(400,))
        refused(jobs.client.post("/jobs", json={"ti\x00tle": 1}, headers=headers), "body.ti\\x00tle", statuses=(400,))

    def test_nul_in_a_query_string_and_a_path(self, build):
        jobs = build("jobs")
        refused(jobs.client.get("/jobs?q=py%00thon"), "query.q", statuses=(400,))
        refused(jobs.client.get("/jobs?skill=%ed%a0%80x%00"), "query.skill", statuses=(400,))
        refused(jobs.client.get("/jobs/%00"), "path", statuses=(400,))

    def test_nul_in_headers_the_kit_reads(self, build):
        payments = build("payments")
        headers = payments.headers(new_id(), ["client"])
        body = {"amount": 1000, "card_number": "4242424242424242"}
        for name in ("Idempotency-Key", "X-Correlation-ID"):
            response = payments.client.post("/payments/deposits", json=body, headers={**headers, name: "k\x00ey"})
            refused(response, f"header.{name.title()}", statuses=(400,))
        assert payments.runtime.collaborators["cards"].sent == []

    def test_a_correlation_id_that_is_not_printable_ascii_is_replaced(self, build):
        users = build("users")
        response = users.client.get("/health", headers={"X-Correlation-ID": "caf\u00e9\u0007"})
        assert response.status_code == 200
        assert response.headers["X-Correlation-ID"].isascii() and "\u0007" not in response.headers["X-Correlation-ID"]


class TestIntegersOutsideTheDatabase:
    def test_query_filters(self, build):
        jobs = build("jobs")
        for field in ("min_budget", "max_budget"):
            for value in (str(2 ** 63), str(-(2 ** 63) - 1), "9" * 5000, "٤٠", "1_000"):
                refused(jobs.client.get(f"/jobs?{field}={value}"), field)
        refused(jobs.client.get(f"/jobs?limit={2 ** 64}"), "limit")

    def test_body_amounts_and_counts(self, build):
        jobs, reviews, users = build("jobs"), build("reviews"), build("users")
        client = jobs.headers(new_id(), ["client"])
        body = {"title": "A fine job", "description": "x", "budget_type": "fixed", "budget_amount": 2 ** 63}
        refused(jobs.client.post("/jobs", json=body, headers=client), "budget_amount")
        refused(reviews.client.post("/reviews", json={"contract_id": new_id(), "rating": 2 ** 70},
                                    headers=reviews.headers(new_id(), ["client"])), "rating")
        me = users.headers(new_id(), ["freelancer"])
        refused(users.client.patch("/users/me", json={"profile": {"hourly_rate": -(2 ** 80)}}, headers=me),
                "profile.hourly_rate")


class TestBodiesTooHostileToParse:
    def test_nesting_past_the_limit(self, build):
        users = build("users")
        for raw in ("[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000):
            refused(users.client.post("/users", data=raw, content_type="application/json"), "body", statuses=(400,))

    def test_an_integer_literal_too_long_to_convert(self, build):
        payments = build("payments")
        raw = '{"amount": ' + "1" * 5000 + ', "card_number": "4242424242424242"}'
        response = payments.client.post("/payments/deposits", data=raw, content_type="application/json",
                                        headers=payments.headers(new_id(), ["client"]))
        refused(response, "body", statuses=(400,))

    def test_bytes_that_are_not_utf8_and_constants_that_are_not_numbers(self, build):
        users = build("users")
        for raw in (b'{"name": "\xff\xfe"}', b'{"hourly_rate": NaN}', b'{"x": Infinity}'):
            refused(users.client.post("/users", data=raw, content_type="application/json"), "body", statuses=(400,))


class TestHostileCursors:
    CURSORS = [
        cursor_of(["0001-01-01T00:00:00+14:00", new_id()]),   # no UTC time: overflows on conversion
        cursor_of(["9999-12-31T23:59:59-14:00", new_id()]),
        cursor_of(["2026-01-01T00:00:00+00:00", "x\x00"]),     # not an id (a NUL for PostgreSQL)
        cursor_of(["2026-01-01T00:00:00+00:00", 12]),
        cursor_of(["2026-01-01T00:00:00", new_id()]),          # naive
        cursor_of({"a": 1}),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
        "!!!not-base64", "A" * 5000, "ٍ٤٠", "%ED%A0%80",
    ]

    def test_every_paginated_list_refuses_them(self, build):
        jobs, users, payments = build("jobs"), build("users"), build("payments")
        lists = [(jobs, "/jobs"), (users, "/users"), (payments, "/payments/transactions")]
        for service, path in lists:
            headers = service.headers(new_id(), ["client", "freelancer"])
            for cursor in self.CURSORS:
                response = service.client.get(path, query_string={"cursor": cursor}, headers=headers)
                body = response.get_json()
                assert response.status_code in (400, 422), (path, cursor, response.status_code, body)
                assert "cursor" in body.get("errors", {}) or "query.cursor" in body.get("errors", {}), body


class TestLengthAfterLowerCasing:
    """`"İ".lower()` is two code points: a text that fits its column can outgrow its lower-cased key's."""

    def test_an_email_whose_key_would_not_fit(self, build):
        users = build("users")
        body = {"email": "İ" * 160 + "@ex.com", "password": "correct horse battery", "name": "Ada",
                "roles": ["client"]}
        refused(users.client.post("/users", json=body), "email", statuses=(422,))

    def test_skills_whose_keys_would_not_fit(self, build):
        users, jobs = build("users"), build("jobs")
        skill = "İ" * 30
        response = users.client.patch("/users/me", json={"profile": {"skills": [skill]}},
                                      headers=users.headers(new_id(), ["freelancer"]))
        refused(response, "profile.skills.0", statuses=(422,))
        body = {"title": "A fine job", "description": "x", "budget_type": "fixed", "budget_amount": 1000,
                "skills": [skill]}
        refused(jobs.client.post("/jobs", json=body, headers=jobs.headers(new_id(), ["client"])), "skills.0",
                statuses=(422,))
        refused(jobs.client.get("/jobs", query_string={"skill": skill}), "skill", statuses=(422,))

    def test_a_skill_that_fits_lower_cased_is_kept(self, build):
        users = build("users")
        body = {"email": f"{new_id()[:8]}@example.com", "password": "correct horse battery", "name": "Ada",
                "roles": ["freelancer"]}
        user = users.client.post("/users", json=body).get_json()
        response = users.client.patch("/users/me", json={"profile": {"skills": ["İstanbul"]}},
                                      headers=users.headers(user["id"], ["freelancer"]))
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["profile"]["skills"] == ["İstanbul"]


ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


class TestDigitsOutsideAscii:
    def test_a_card_number_never_reaches_the_processor(self, build):
        payments = build("payments")
        cards = payments.runtime.collaborators["cards"]
        for number in ("4242424242424242".translate(ARABIC), "４２４２４２４２４２４２４２４２"):
            response = payments.client.post("/payments/deposits", json={"amount": 1000, "card_number": number},
                                            headers=payments.headers(new_id(), ["client"]))
            refused(response, "card_number", statuses=(422,))
        assert cards.sent == []

    def test_account_and_routing_numbers_never_reach_the_bank(self, build):
        payments = build("payments")
        headers = payments.headers(new_id(), ["freelancer"])
        for field, value in (("account_number", "12345678".translate(ARABIC)),
                             ("routing_number", "110000000".translate(ARABIC)),
                             ("account_number", "1234\n")):
            destination = {"type": "bank_account", "account_number": "12345678", "routing_number": "110000000",
                           field: value}
            response = payments.client.post("/payments/payouts", json={"amount": 1000, "destination": destination},
                                            headers=headers)
            refused(response, f"destination.{field}", statuses=(422,))
        assert payments.runtime.collaborators["bank"].transfers == {}


def test_every_input_field_of_every_service_is_the_kits():
    """The rules are the kit's once: no input schema uses a bare marshmallow String or Integer."""
    found = []
    for service in registry.available({}).values():
        module = __import__(f"services.{service.name}.schemas", fromlist=["_"])
        for _, schema in inspect.getmembers(module, inspect.isclass):
            if not issubclass(schema, InSchema):
                continue
            for name, field in schema._declared_fields.items():
                inner = getattr(field, "inner", None) or field
                if isinstance(inner, mfields.String) and not isinstance(inner, kit.String):
                    found.append(f"{service.name}.{schema.__name__}.{name}")
                if isinstance(inner, mfields.Integer) and not isinstance(inner, kit.Integer):
                    found.append(f"{service.name}.{schema.__name__}.{name}")
    assert found == []
