"""The application's event catalog as AsyncAPI, and its compatibility snapshot.

The kit's generator (`shared.events.asyncapi`) is fed here with the services that exist and what
each one subscribes to. `marketplace asyncapi` writes the document (`docs/asyncapi.yaml`) and,
with `--snapshot`, refreshes `docs/events.snapshot.json`, the published event schemas that no
later change may break within a version.
"""
from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from marketplace import registry
from shared.events import CATALOG
from shared.events.asyncapi import breaking_changes, build_document, event_schemas

FORMATS = ("yaml", "json")
DESCRIPTION = (
    "The events Marketplace's services exchange over RabbitMQ: one durable topic exchange, `marketplace.events`, "
    "routing key = event type; each consuming service reads its own queue `<service>.events`, and "
    "`marketplace.audit` (bound to `#`) keeps recent traffic. An envelope's `correlation_id` is the contract id "
    "for every event of a contract's sagas and the payout id for a payout's. Within a version, fields are only "
    "ever added (optional); a breaking change is a new version.")
SERVERS = {"rabbitmq": {
    "host": "{host}",
    "protocol": "amqp",
    "protocolVersion": "0.9.1",
    "description": "The broker named by AMQP_URL.",
    "variables": {"host": {"default": "localhost:5672", "description": "Host and port of AMQP_URL."}},
}}
SNAPSHOT_NOTE = ("The published event schemas; tests fail when the code breaks one. Refresh with "
                 "`marketplace asyncapi --snapshot docs/events.snapshot.json` after adding an event, a version "
                 "or an optional field; a breaking change is a new version instead.")


class Unavailable(RuntimeError):
    """What this output needs is not installed."""


class BreakingChange(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def services_catalog() -> dict[str, list[str]]:
    """`{service: the event types its queue is bound to}` for every service of the application."""
    # The whole application, whatever MARKETPLACE_SERVICES narrows a process to.
    return {name: sorted(service.handlers) for name, service in registry.available({}).items()}


def document() -> dict[str, Any]:
    return build_document(CATALOG, services_catalog(), title="Marketplace events", version=version("marketplace"),
                          description=DESCRIPTION, servers=SERVERS)


def render(content: dict[str, Any], format_: str) -> str:
    if format_ == "json":
        return json.dumps(content, indent=2) + "\n"
    # Only here: PyYAML comes with the test extra, and JSON needs nothing.
    try:
        import yaml
    except ImportError:
        raise Unavailable("YAML needs PyYAML (pip install pyyaml); or use --format json") from None
    return yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=110)


def format_for(path: Path | None) -> str:
    """The format a file name asks for (`.json`), else YAML."""
    return "json" if path is not None and path.suffix == ".json" else "yaml"


def snapshot() -> dict[str, Any]:
    return {"$comment": SNAPSHOT_NOTE, "events": event_schemas(CATALOG)}


def read_snapshot(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())["events"]


def check(path: Path) -> list[str]:
    """What the current event schemas break of the snapshot at `path`."""
    return breaking_changes(read_snapshot(path), event_schemas(CATALOG))


def write_snapshot(path: Path, accept_breaking: bool = False) -> None:
    """Record today's schemas as published; refuses to record a breaking change unless told to."""
    if path.exists() and not accept_breaking:
        problems = check(path)
        if problems:
            raise BreakingChange(problems)
    path.write_text(json.dumps(snapshot(), indent=2) + "\n")
