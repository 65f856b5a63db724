"""Property: whatever body and query string reach whatever endpoint of whatever service, the answer
is never a 5xx, and every error is problem+json.

Every service is built through the test harness (SQLite, embedded bus) and its endpoints are read from
its app's url_map; tokens of each role make the bodies get past `require` and be parsed. A PostgreSQL
variant sends the inputs PostgreSQL itself refuses (NUL in text, integers past BIGINT) to every endpoint.
"""
from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from shared.ids import new_id
from tests.platform.hostile import ROLES, build_all

PROBLEM = "application/problem+json"
SKIPPED = {"static", "api-docs.openapi_swagger_ui", "api-docs.openapi_json", "metrics", "ready", "health"}
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
FIELD_NAMES = ["email", "password", "name", "roles", "country", "profile", "title", "description", "skills",
               "budget_type", "budget_amount", "hourly_rate_max", "amount", "card_number", "destination",
               "account_number", "routing_number", "type", "cover_letter", "estimated_days", "milestones",
               "due_date", "note", "message", "reason", "contract_id", "rating", "comment", "user_id",
               "q", "skill", "status", "client_id", "min_budget", "max_budget", "limit", "cursor", "role"]

HOSTILE_TEXT = st.sampled_from(["\x00", "a\x00b", "\ud800", "İ" * 60, "٤٠٠٠٠٠٠٠٠٠٠٠٠٠٠٢", "1" * 400, "",
                                " ", "0001-01-01T00:00:00+14:00", "9999-12-31", "-1", "NaN", "true", "null"])
HOSTILE_INT = st.sampled_from([0, -1, 2 ** 31, 2 ** 63 - 1, 2 ** 63, -(2 ** 63) - 1, 10 ** 30])
TEXT = st.one_of(st.text(max_size=30), HOSTILE_TEXT, st.uuids().map(str))
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), HOSTILE_INT,
                   st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON = st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8)),
                                                 inner, max_size=6)), max_leaves=12)
BODY = st.one_of(st.dictionaries(st.sampled_from(FIELD_NAMES), JSON, max_size=8), JSON)
QUERY_TEXT = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
                       st.sampled_from(["\x00", "İ" * 60, "٤٠", str(2 ** 63), "9" * 5000, "-1"]),
                       st.integers().map(str), st.uuids().map(str))
def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


CURSORS = st.sampled_from([_cursor(["0001-01-01T00:00:00+14:00", new_id()]), _cursor(["9999-12-31T23:59:59-14:00", "x"]),
                           _cursor([1, 2]), _cursor("x"), "!!", base64.urlsafe_b64encode(b"[" * 3000).decode()])
QUERY = st.one_of(st.dictionaries(st.sampled_from(FIELD_NAMES), QUERY_TEXT, max_size=4),
                  st.builds(lambda cursor, limit: {"cursor": cursor, "limit": limit}, CURSORS, QUERY_TEXT))
# Bodies no JSON encoder makes: nested past any stack, integer literals past Python's 4300 digits, bad bytes.
RAW_BODIES = st.sampled_from(["[" * 50_000 + "]" * 50_000, '{"a":' * 3000 + "1" + "}" * 3000,
                              '{"amount": ' + "1" * 5000 + "}", '[' + "9" * 4301 + "]", '{"x": NaN}', "\xff"])


def endpoints(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED or rule.endpoint.startswith("api-docs"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule))
    return found


def path_of(rule: str, draw_text) -> str:
    def fill(match):
        converter = match.group(1) or "string"
        return str(uuid.uuid4()) if converter == "uuid" else draw_text
    return CONVERTER.sub(fill, rule)


def assert_answered(response, method, path):
    assert response.status_code < 500, (method, path, response.status_code, response.get_data(as_text=True)[:500])
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM, (method, path, response.status_code, response.mimetype)
        body = response.get_json()
        assert body["status"] == response.status_code and "title" in body


@pytest.fixture
def services(harness, settings, make_sqlite_database, monkeypatch):
    return build_all(harness, settings, make_sqlite_database)


@hypothesis_settings(max_examples=800, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.data_too_large])
@given(data=st.data())
def test_no_body_or_query_string_is_a_server_error(services, data):
    name = data.draw(st.sampled_from(sorted(services)))
    service = services[name]
    method, rule = data.draw(st.sampled_from(endpoints(service.app)))
    path = path_of(rule, data.draw(st.sampled_from(["x", "me", new_id(), "0"])))
    roles = data.draw(st.sampled_from(ROLES))
    headers = service.headers(new_id(), roles)
    if data.draw(st.booleans()):
        headers["Idempotency-Key"] = data.draw(st.sampled_from(["k", "x" * 300, new_id()]))
    query = data.draw(QUERY)
    raw = None
    if method in ("POST", "PATCH", "PUT"):
        raw = data.draw(st.one_of(BODY.map(json.dumps), RAW_BODIES))
    response = service.client.open(path, method=method, query_string=query, data=raw,
                                   content_type="application/json" if raw is not None else None, headers=headers)
    assert_answered(response, method, path)


@pytest.mark.postgres
def test_what_postgresql_refuses_is_never_a_server_error(harness, settings, make_pg_database, monkeypatch):
    """NUL in text and integers past BIGINT, in every field name any schema has, at every endpoint."""
    services = build_all(harness, settings, make_pg_database)
    for service in services.values():
        headers = service.headers(new_id(), ["client", "freelancer", "admin"])
        for method, rule in endpoints(service.app):
            path = path_of(rule, "x")
            for hostile in ("a\x00b", 2 ** 63):
                for field in FIELD_NAMES:  # one field at a time, so each query filter is read alone
                    if method == "GET":
                        response = service.client.open(path, method=method, query_string={field: str(hostile)},
                                                       headers=headers)
                        assert_answered(response, method, path)
                    if method in ("POST", "PATCH"):
                        response = service.client.open(path, method=method, data=json.dumps({field: hostile}),
                                                       content_type="application/json", headers=headers)
                        assert_answered(response, method, path)
