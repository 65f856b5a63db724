"""The event catalog: the AsyncAPI document and the snapshot that guards it."""
from __future__ import annotations

from pathlib import Path

import click

from marketplace import asyncapi as catalog


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the document here (e.g. docs/asyncapi.yaml) instead of to standard output.")
@click.option("--format", "format_", type=click.Choice(["yaml", "json"]),
              help="Default: json for a .json output, else yaml.")
@click.option("--snapshot", type=click.Path(dir_okay=False, path_type=Path),
              help="Instead, record today's event schemas as published (docs/events.snapshot.json).")
@click.option("--accept-breaking", is_flag=True,
              help="With --snapshot: record it even though it breaks the snapshot it replaces.")
def asyncapi(output: Path | None, format_: str | None, snapshot: Path | None, accept_breaking: bool) -> None:
    """The event catalog as an AsyncAPI 3.0 document: channels, messages, who sends and who receives."""
    if snapshot is not None:
        try:
            catalog.write_snapshot(snapshot, accept_breaking)
        except catalog.BreakingChange as error:
            raise click.ClickException(
                f"{snapshot} not refreshed; today's event schemas break it:\n  " + "\n  ".join(error.problems)
                + "\nPublish the change as a new event version instead (or pass --accept-breaking).") from None
        click.echo(f"recorded the schemas of {len(catalog.CATALOG)} event versions in {snapshot}")
        return
    try:
        text = catalog.render(catalog.document(), format_ or catalog.format_for(output))
    except catalog.Unavailable as error:
        raise click.ClickException(str(error)) from None
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
        click.echo(f"wrote {output}")
