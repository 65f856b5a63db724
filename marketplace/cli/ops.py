"""Operating it: schemas, the broker's topology and dead letters."""
from __future__ import annotations

import click

from marketplace import registry
from marketplace.cli.common import SERVICE, refuse_embedded, services, settings


@click.command()
@click.argument("service", required=False, type=click.Choice(registry.NAMES))
def migrate(service: str | None) -> None:
    """Bring one service's database (or every one's) to its newest schema."""
    from marketplace.databases import create_missing
    from shared.db import Database, migrate as upgrade

    found = settings()
    chosen = services(service)
    create_missing(found, chosen)
    for name, definition in chosen.items():
        database = Database(found.database_url(name))
        upgrade(database, definition.migrations)
        click.echo(f"migrated {name}: {database.url.render_as_string(hide_password=True)}")
        database.dispose()


@click.command()
def topology() -> None:
    """Declare the exchanges and every service's queues on RabbitMQ (idempotent); a queue the broker holds
    with another type or other arguments (classic where QUEUE_TYPE says quorum) is replaced, its messages kept."""
    from shared.bus.amqp import declare_all

    found = settings()
    refuse_embedded(found, "topology")
    chosen = services()
    steps = declare_all(found, {name: sorted(service.handlers) for name, service in chosen.items()})
    for step in steps:
        if step.action != "declared":
            click.echo(step.text())
    replaced = sum(step.action != "declared" for step in steps)
    click.echo(f"declared marketplace.events, marketplace.dead, marketplace.audit and the queues of {', '.join(chosen)} "
               f"({found.queue_type} queues; {replaced} replaced)")


@click.group()
def dlq() -> None:
    """Dead letters: list, show, replay and purge a service's parked messages."""


def _count(retries: int | None) -> str:
    return "?" if retries is None else str(retries)


@dlq.command("list")
@SERVICE
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
def dlq_list(service: str, limit: int) -> None:
    """List a service's dead letters (they stay where they are)."""
    from shared.dlq import dead_letters

    letters = dead_letters(settings(), service).list(limit)
    for letter in letters:
        click.echo(f"{letter.message_id}  {letter.type}  retries={_count(letter.retries)}  {letter.dead_at}  {letter.error}")
    click.echo(f"{len(letters)} dead letter(s) in {service}")


@dlq.command("show")
@SERVICE
@click.argument("message_id")
def dlq_show(service: str, message_id: str) -> None:
    """Show one dead letter: why it died, its headers and its body."""
    from shared.dlq import dead_letters, pretty

    for letter in dead_letters(settings(), service).list(100000):
        if letter.message_id == message_id:
            click.echo(f"id: {letter.message_id}\ntype: {letter.type}\nretries: {_count(letter.retries)}\n"
                       f"dead at: {letter.dead_at}\nerror: {letter.error}")
            for key, value in sorted(letter.headers.items()):
                click.echo(f"header {key}: {value}")
            click.echo(pretty(letter.body))
            return
    raise click.ClickException(f"no dead letter {message_id} in {service}")


@dlq.command("replay")
@SERVICE
@click.argument("message_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Replay every dead letter of the service.")
def dlq_replay(service: str, message_ids: tuple[str, ...], everything: bool) -> None:
    """Put dead letters back on the service's own queue, with their retry count reset."""
    from shared.dlq import dead_letters

    if not message_ids and not everything:
        raise click.UsageError("name the MESSAGE_IDS to replay, or pass --all")
    count = dead_letters(settings(), service).replay(None if everything else set(message_ids))
    click.echo(f"replayed {count} dead letter(s) to {service}")
    if message_ids and count < len(set(message_ids)):
        raise click.ClickException(f"only {count} of {len(set(message_ids))} message(s) were found")


@dlq.command("purge")
@SERVICE
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def dlq_purge(service: str, yes: bool) -> None:
    """Delete every dead letter of the service."""
    from shared.dlq import dead_letters

    if not yes:
        click.confirm(f"Delete every dead letter of {service}?", abort=True)
    click.echo(f"purged {dead_letters(settings(), service).purge()} dead letter(s) from {service}")


@click.command()
@click.argument("service", type=click.Choice(("kit", *registry.NAMES)))
@click.option("-m", "--message", required=True, help="What the revision changes (its docstring and file name).")
@click.option("--database-url", default=None, metavar="URL",
              help="Compare with this database, migrated to head first (default: a fresh SQLite file).")
def revision(service: str, message: str, database_url: str | None) -> None:
    """Write SERVICE's next migration (`kit` for the kit's tables) from what its models add or change."""
    from shared.revisions import Branch, revise

    branch = Branch.kit() if service == "kit" else Branch.of(services(service)[service])
    path = revise(branch, message, database_url)
    click.echo(f"wrote {path}" if path else f"{service}: the models match the migrations; nothing to write")
