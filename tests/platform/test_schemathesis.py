"""schemathesis against each service's own OpenAPI document, in-process: no operation answers a 5xx.

Each service is built through the test harness (SQLite, embedded bus); every request carries a token
holding every role, so bodies get past `require` and are parsed. Bounded: a few examples an operation.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from marketplace import registry
from services.payments.bank import SandboxBank
from tests.platform.hostile import RecordingCards, own_settings

ALL_ROLES = ["client", "freelancer", "admin"]
CHECKS = [not_a_server_error, response_schema_conformance]


# Each operation's cases are drawn by hypothesis from schemathesis's strategy (its pytest plugin's lazy
# fixtures do not run on this pytest); a failing case fails the test with the case that failed.
@pytest.mark.parametrize("name", list(registry.available({})))
def test_no_operation_answers_a_server_error(name, harness, settings, make_sqlite_database):
    collaborators = {"bank": SandboxBank(delay=(0.0, 0.0)), "cards": RecordingCards()} if name == "payments" else None
    built = harness(registry.get(name), settings, make_sqlite_database(name), collaborators=collaborators,
                    service_settings=own_settings(name))
    headers = built.headers(roles=ALL_ROLES)
    operations = [result.ok() for result in schemathesis.openapi.from_wsgi("/openapi.json", built.app)
                  .get_all_operations()]
    assert operations, f"{name} documents no operation"
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=8, deadline=None, derandomize=True, database=None,
                             suppress_health_check=list(HealthCheck))
        def answers_without_a_server_error(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        answers_without_a_server_error()
