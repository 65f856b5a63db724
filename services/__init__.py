"""The five Marketplace services; `available()` lists those present in this checkout."""
from __future__ import annotations

import importlib
import importlib.util
import os

from shared.config import SERVICES, ConfigError


def selected() -> tuple[str, ...]:
    """The services to run: `MARKETPLACE_SERVICES` (comma-separated), else all five."""
    raw = os.environ.get("MARKETPLACE_SERVICES", "").strip()
    if not raw:
        return SERVICES
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise ConfigError(f"MARKETPLACE_SERVICES: {', '.join(unknown)} is not a service ({', '.join(SERVICES)})")
    return names


def available() -> dict:
    """`{name: Service}` for every selected service package that exists, in the canonical order."""
    found = {}
    for name in selected():
        if importlib.util.find_spec(f"services.{name}") is not None:
            found[name] = importlib.import_module(f"services.{name}").SERVICE
    return found


def get(name: str):
    services = available()
    if name not in services:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(services)}")
    return services[name]
