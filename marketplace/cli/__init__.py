"""`marketplace`: the operator's command for running, migrating and inspecting the suite."""
from __future__ import annotations

import sys

import click

from marketplace.cli import admin, catalog, ops, run, sagas
from shared.config import ConfigError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Marketplace: a freelance marketplace of six services coordinating sagas over RabbitMQ."""


for command in (run.dev, run.stack, run.api, run.worker, run.gateway, run.nginx, run.demo,
                ops.migrate, ops.revision, ops.topology, ops.dlq, sagas.sagas, catalog.asyncapi,
                admin.create_admin):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except ConfigError as error:
        click.echo(f"marketplace: configuration error: {error}", err=True)
        sys.exit(2)
