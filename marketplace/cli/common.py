"""What every command group shares: settings, the services chosen, the SERVICE argument."""
from __future__ import annotations

import os

import click

from marketplace import registry
from shared import tracing
from shared.config import ConfigError, Settings
from shared.logs import configure_logging
from shared.service import Service

SERVICE = click.argument("service", type=click.Choice(registry.NAMES))


def settings() -> Settings:
    found = Settings.from_env()
    for service in services().values():  # and each service's own, so a bad value stops any command at start
        service.settings.from_env(os.environ)
    tracing.check(os.environ)
    configure_logging(found)
    return found


def services(only: str | None = None) -> dict[str, Service]:
    found = registry.available()
    if only is not None:
        if only not in found:
            raise click.BadParameter(f"{only!r} is not a service here; choose from {', '.join(found)}",
                                     param_hint="SERVICE")
        return {only: found[only]}
    return found


def refuse_embedded(settings: Settings, command: str) -> None:
    if settings.embedded:
        raise ConfigError(f"AMQP_URL: `{command}` runs one piece of the real topology and needs a broker "
                          "(amqp://…); for everything in one process without one, use `marketplace dev`")
