"""The services this application is made of: their names, ports, paths and packages.

One entry per service, in the order everything lists them (`dev`, `stack`, `--port-base`).
Adding a service is one more `Entry` here; the command, the gateway and the runners read
everything they need from this module.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from typing import Mapping

from shared.config import ConfigError, env_int
from shared.service import Service


@dataclass(frozen=True)
class Entry:
    name: str
    port: int
    """Its API's port when neither `MARKETPLACE_PORT_<NAME>` nor `--port-base` says otherwise."""
    routes: tuple[str, ...]
    """The first path segments it owns: the gateway sends `/<segment>` and `/<segment>/…` to it."""
    module: str
    """The package that defines `SERVICE`."""
    threads: int = 4
    """Its API's threads per gunicorn process (gthread) unless `API_THREADS` or `--threads` say otherwise:
    messages holds one for each open notification stream, so it has many."""
    uploads: tuple[str, ...] = ()
    """Paths (regular expressions) that take bodies up to `UPLOAD_LIMIT` where every other path takes
    1 MiB: messages' attachments."""

    @property
    def port_variable(self) -> str:
        return f"MARKETPLACE_PORT_{self.name.upper()}"


UPLOAD_LIMIT = "11m"
"""The proxy's body limit on upload paths: a 10 MiB file (the service's own limit, which answers 413 past
it) with room for a multipart envelope."""

GATEWAY = "gateway"
GATEWAY_PORT = 8000
GATEWAY_PORT_VARIABLE = "MARKETPLACE_PORT_GATEWAY"

ENTRIES: tuple[Entry, ...] = (
    Entry("users", 8001, ("users", "auth"), "services.users"),
    Entry("jobs", 8002, ("jobs",), "services.jobs"),
    Entry("contracts", 8003, ("contracts",), "services.contracts"),
    Entry("payments", 8004, ("payments",), "services.payments"),
    Entry("reviews", 8005, ("reviews",), "services.reviews"),
    Entry("messages", 8006, ("rooms", "notifications", "webhooks"), "services.messages", threads=32,
          uploads=(r"^/rooms/[^/]+/attachments$",)),
)
BY_NAME: dict[str, Entry] = {entry.name: entry for entry in ENTRIES}
NAMES: tuple[str, ...] = tuple(BY_NAME)
ROUTES: dict[str, str] = {segment: entry.name for entry in ENTRIES for segment in entry.routes}
"""First path segment → the service that owns it (every public path is unique across services)."""


def ports(env: Mapping[str, str] | None = None, base: int | None = None) -> dict[str, int]:
    """`{"gateway": port, "<service>": port, …}` for every service of the registry.

    With `base` (`--port-base N`): the gateway on N and each service on N+1, N+2, … in registry
    order, whatever the variables say. Otherwise `MARKETPLACE_PORT_GATEWAY` and
    `MARKETPLACE_PORT_<SERVICE>`, each defaulting to the registry's port.
    """
    if base is not None:
        if not 1 <= base <= 65535 - len(ENTRIES):
            raise ConfigError(f"--port-base: {base} is outside 1..{65535 - len(ENTRIES)}")
        return {GATEWAY: base, **{entry.name: base + i + 1 for i, entry in enumerate(ENTRIES)}}
    env = os.environ if env is None else env
    found = {GATEWAY: env_int(env, GATEWAY_PORT_VARIABLE, GATEWAY_PORT, 1, 65535)}
    for entry in ENTRIES:
        found[entry.name] = env_int(env, entry.port_variable, entry.port, 1, 65535)
    taken: dict[int, str] = {}
    for name, port in found.items():
        if port in taken:
            variable = GATEWAY_PORT_VARIABLE if name == GATEWAY else BY_NAME[name].port_variable
            raise ConfigError(f"{variable}: {port} is already the port of {taken[port]}")
        taken[port] = name
    return found


def port_variables(chosen: Mapping[str, int]) -> dict[str, str]:
    """The variables that give child processes the same ports (`stack --port-base` passes them on)."""
    return {(GATEWAY_PORT_VARIABLE if name == GATEWAY else BY_NAME[name].port_variable): str(port)
            for name, port in chosen.items()}


def selected(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The services to run: `MARKETPLACE_SERVICES` (comma-separated), else every one of the registry."""
    env = os.environ if env is None else env
    raw = (env.get("MARKETPLACE_SERVICES") or "").strip()
    if not raw:
        return NAMES
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise ConfigError(f"MARKETPLACE_SERVICES: {', '.join(unknown)} is not a service ({', '.join(NAMES)})")
    return names


def available(env: Mapping[str, str] | None = None) -> dict[str, Service]:
    """`{name: Service}` for every selected service whose package exists, in registry order."""
    found = {}
    for name in selected(env):
        module = BY_NAME[name].module
        if importlib.util.find_spec(module) is not None:
            found[name] = importlib.import_module(module).SERVICE
    return found


def get(name: str) -> Service:
    services = available()
    if name not in services:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(services)}")
    return services[name]
