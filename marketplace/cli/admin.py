"""Administering it: accounts that are never made over HTTP."""
from __future__ import annotations

import click

from marketplace.cli.common import services, settings


@click.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters; asked for when not given.")
def create_admin(email: str, password: str) -> None:
    """Make (or promote) an admin account; admins are never made over HTTP."""
    from marketplace.databases import create_missing
    from services.users.accounts import ensure_admin
    from shared.runtime import Runtime

    if len(password) < 10:
        raise click.BadParameter("must be at least 10 characters", param_hint="--password")
    found = settings()
    create_missing(found, ["users"])
    runtime = Runtime(services("users")["users"], found)
    runtime.migrate()
    with runtime.unit_of_work() as uow:
        user = ensure_admin(uow, email=email, password=password)
        click.echo(f"admin {user.email} ({user.id}) is ready")
    runtime.close()
