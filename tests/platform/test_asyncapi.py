"""The published event catalog: `docs/asyncapi.yaml` is what the code says, valid AsyncAPI 3.0, and no
change breaks an event version recorded in `docs/events.snapshot.json`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from referencing import Registry
from referencing.jsonschema import DRAFT7

from marketplace import asyncapi, registry
from marketplace.cli import cli
from shared.events import CATALOG, Envelope, schema_for
from tests.kit.helpers import sample_data

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
SNAPSHOT = ROOT / "docs" / "events.snapshot.json"
ASYNCAPI_SCHEMA = ROOT / "deploy" / "schemas" / "asyncapi-3.0.0.json"


def marketplace(*args: str):
    """The command in this process (what it prints, stdout and stderr together, is `.output`)."""
    return CliRunner().invoke(cli, ["asyncapi", *args], env={"MARKETPLACE_SERVICES": None})


@pytest.fixture(scope="module")
def document() -> dict:
    """The whole application's document, whatever MARKETPLACE_SERVICES this run has."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MARKETPLACE_SERVICES", raising=False)
        return asyncapi.document()


class TestPublishedDocument:
    def test_the_committed_document_is_what_the_code_generates(self, document):
        assert yaml.safe_load(DOCUMENT.read_text()) == document, (
            "docs/asyncapi.yaml is stale; regenerate it with `marketplace asyncapi --output docs/asyncapi.yaml`")

    def test_it_is_valid_against_the_asyncapi_3_schema(self, document):
        validator = jsonschema.Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
        errors = sorted(validator.iter_errors(document), key=lambda error: error.json_path)
        assert not errors, "\n".join(f"{error.json_path}: {error.message[:200]}" for error in errors)

    def test_every_event_version_has_its_channel_and_its_producer_sends_it(self, document, monkeypatch):
        monkeypatch.delenv("MARKETPLACE_SERVICES", raising=False)
        for type_, version in CATALOG:
            key, producer = f"{type_}.v{version}", type_.split(".")[0]
            assert document["channels"][key]["address"] == type_
            assert document["operations"][f"{producer}.send.{key}"]["action"] == "send"
            assert producer in asyncapi.services_catalog(), f"{type_} is named after no service"

    def test_every_handler_of_every_service_is_a_receive_operation(self, document, monkeypatch):
        monkeypatch.delenv("MARKETPLACE_SERVICES", raising=False)
        expected = {f"{name}.receive.{type_}.v{version}"
                    for name, service in registry.available({}).items() for type_ in service.handlers
                    for known, version in CATALOG if known == type_}
        received = {key for key, operation in document["operations"].items() if operation["action"] == "receive"}
        assert received == expected and received

    @pytest.mark.parametrize("type_", sorted(type_ for type_, _ in CATALOG))
    def test_an_envelope_as_producers_send_it_matches_its_message(self, document, type_):
        data = sample_data(schema_for(type_))
        envelope = Envelope.new(type_, data, producer=type_.split(".")[0], correlation_id="c-1")
        registry = Registry().with_resource("urn:document", DRAFT7.create_resource(document))
        validator = jsonschema.Draft7Validator({"$ref": f"urn:document#/components/messages/{type_}.v1/payload"},
                                               registry=registry, format_checker=jsonschema.FormatChecker())
        errors = list(validator.iter_errors(json.loads(envelope.to_json())))
        assert not errors, [error.message for error in errors]


class TestCompatibility:
    def test_no_event_version_breaks_the_snapshot(self):
        problems = asyncapi.check(SNAPSHOT)
        assert not problems, (
            "these changes break published events:\n  " + "\n  ".join(problems) + "\nPublish a new event version "
            "instead; refresh docs/events.snapshot.json (`marketplace asyncapi --snapshot docs/events.snapshot.json`) "
            "only for additions")

    def test_the_snapshot_holds_every_event_version(self):
        recorded = asyncapi.read_snapshot(SNAPSHOT)
        assert {(type_, int(number)) for type_, versions in recorded.items() for number in versions} == set(CATALOG), (
            "a new event or version is not in docs/events.snapshot.json yet; record it with "
            "`marketplace asyncapi --snapshot docs/events.snapshot.json`")


class TestCommand:
    def test_writes_yaml_to_standard_output_by_default(self, document):
        unset = ("AMQP_URL", "DATABASE_URL", "MARKETPLACE_SERVICES")
        environment = {k: v for k, v in os.environ.items() if k not in unset}
        result = subprocess.run([sys.executable, "-m", "marketplace.cli", "asyncapi"], env=environment,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert yaml.safe_load(result.stdout) == document

    def test_writes_json_to_a_file_named_so(self, tmp_path, document):
        result = marketplace("--output", str(tmp_path / "events.json"))
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / "events.json").read_text()) == document

    def test_format_overrides_the_file_name(self, tmp_path):
        result = marketplace("--format", "json", "-o", str(tmp_path / "events.yaml"))
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / "events.yaml").read_text())["asyncapi"] == "3.0.0"

    def test_snapshot_records_the_current_schemas(self, tmp_path):
        target = tmp_path / "snapshot.json"
        result = marketplace("--snapshot", str(target))
        assert result.exit_code == 0, result.output
        assert asyncapi.read_snapshot(target) == asyncapi.read_snapshot(SNAPSHOT)

    def test_snapshot_refuses_to_record_a_breaking_change_unless_told(self, tmp_path):
        target = tmp_path / "snapshot.json"
        recorded = json.loads(SNAPSHOT.read_text())
        funded = recorded["events"]["payments.escrow.funded"]["1"]
        funded["properties"]["currency"] = {"type": "string"}
        funded["required"].append("currency")
        target.write_text(json.dumps(recorded))

        refused = marketplace("--snapshot", str(target))
        assert refused.exit_code == 1
        assert "payments.escrow.funded v1: field `currency` was removed" in refused.output
        assert "new event version" in refused.output
        assert "currency" in target.read_text()

        accepted = marketplace("--snapshot", str(target), "--accept-breaking")
        assert accepted.exit_code == 0, accepted.output
        assert "currency" not in target.read_text()

    def test_without_pyyaml_it_says_so_and_json_still_works(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "yaml", None)
        refused = marketplace()
        assert refused.exit_code == 1 and "PyYAML" in refused.output and "--format json" in refused.output
        assert marketplace("--format", "json").exit_code == 0
