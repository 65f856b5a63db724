"""Sagas: what is past its deadline, and why."""
from __future__ import annotations

import dataclasses
import json
import os

import click

from marketplace.cli.common import services, settings

COLUMNS = ("service", "kind", "id", "state", "since", "attempts", "next re-send", "why", "last error")


@click.group()
def sagas() -> None:
    """Saga steps: which are past their deadline (their request is being sent again)."""


@sagas.command("stuck")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
def sagas_stuck(as_json: bool) -> None:
    """List every saga step past its deadline: id, state, since when, re-sends so far, why, last error.

    A step is listed once SAGA_RESEND_AFTER has passed with no answer; its request is sent again with
    backoff until the answer comes (see docs/reliability.md for what to look at). The last error is
    the step's own, else that of a dead letter (of any service) about it."""
    from shared.db import Database

    found = settings()
    rows = []
    for name, service in services().items():
        if service.stuck_sagas is None:
            continue
        database = Database(found.database_url(name))
        try:
            with database.transaction() as session:
                stuck = service.stuck_sagas(session, service.settings.from_env(os.environ))
        except Exception as error:  # noqa: BLE001 - say which database, in one line
            raise click.ClickException(f"could not read {name}'s sagas: {error.__class__.__name__}: "
                                       f"{str(error).splitlines()[0] if str(error) else ''}") from None
        finally:
            database.dispose()
        rows += [(name, saga) for saga in stuck]
    if rows:
        letters = _dead_letter_errors(found, services())
        rows = [(name, saga if saga.last_error else dataclasses.replace(saga, last_error=letters.get(saga.id)))
                for name, saga in rows]
    if as_json:
        for name, saga in rows:
            click.echo(json.dumps({"service": name, "kind": saga.kind, "id": saga.id, "state": saga.state,
                                   "since": saga.since.isoformat(), "attempts": saga.attempts,
                                   "next_attempt_at": _iso(saga.next_attempt_at),
                                   "why": saga.why, "last_error": saga.last_error}))
        return
    table = [COLUMNS] + [(name, saga.kind, saga.id, saga.state, _time(saga.since), str(saga.attempts),
                          _time(saga.next_attempt_at), saga.why, saga.last_error or "-") for name, saga in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    click.echo(f"{len(rows)} saga step(s) past their deadline")


def _dead_letter_errors(found, chosen) -> dict[str, str]:
    """Why a dead letter about a milestone, an invoice or a contract died, by its id (the newest letter's reason)."""
    from shared.dlq import dead_letters

    errors: dict[str, str] = {}
    for name in chosen:
        try:
            letters = dead_letters(found, name).list(1000)
        except Exception:  # noqa: BLE001 - the listing stands without them (broker down, no table yet)
            continue
        for letter in letters:
            try:
                data = json.loads(letter.body).get("data") or {}
            except (ValueError, AttributeError):
                continue
            for key in ("milestone_id", "invoice_id", "contract_id"):
                if isinstance(data.get(key), str):
                    errors[data[key]] = f"{name} dead letter {letter.type}: {letter.error}"
    return errors


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _time(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment is not None else "-"
