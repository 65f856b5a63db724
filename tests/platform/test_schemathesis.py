"""schemathesis against each service's own OpenAPI document, in-process: no operation answers a 5xx.

Each service is built through the test harness (SQLite, embedded bus); every request carries a token
holding every role, so bodies get past `require` and are parsed. Bounded: a few examples an operation.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from marketplace import registry
from services.payments.bank import SandboxBank
from tests.platform.hostile import RecordingCards, cheap_hashing

ALL_ROLES = ["client", "freelancer", "admin"]
CURRENT: dict = {}  # the headers of the service under test (schemathesis copies the schema object)


@pytest.fixture(params=list(registry.available({})))
def api(request, harness, settings, make_sqlite_database, monkeypatch):
    cheap_hashing(monkeypatch)
    name = request.param
    collaborators = {"bank": SandboxBank(delay=(0.0, 0.0)), "cards": RecordingCards()} if name == "payments" else None
    built = harness(registry.get(name), settings, make_sqlite_database(name), collaborators=collaborators)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", built.app)
    CURRENT["headers"] = built.headers(roles=ALL_ROLES)
    return schema


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
@hypothesis_settings(max_examples=8, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case):
    case.call_and_validate(headers=CURRENT["headers"], checks=[not_a_server_error, response_schema_conformance])
