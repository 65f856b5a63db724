"""`marketplace`: the operator's command for running, migrating and inspecting the suite."""
from __future__ import annotations

import sys

import click

from shared.config import PORTS, SERVICES, ConfigError, Settings


def _settings() -> Settings:
    settings = Settings.from_env()
    from shared.logs import configure_logging

    configure_logging(settings)
    return settings


def _services(only: str | None = None) -> dict:
    import services

    found = services.available()
    if only is not None:
        if only not in found:
            raise click.BadParameter(f"{only!r} is not a service here; choose from {', '.join(found)}",
                                     param_hint="SERVICE")
        return {only: found[only]}
    return found


SERVICE = click.argument("service", type=click.Choice(SERVICES))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Marketplace: a freelance marketplace of five services coordinating sagas over RabbitMQ."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
def dev(host: str) -> None:
    """Everything in one process: APIs on 8001-8005, gateway on 8000, workers, SQLite under var/."""
    from shared import dev as runner

    runner.run(_settings(), _services(), host)


@cli.command()
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32), help="Workers per service.")
@click.option("--api-workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Gunicorn processes per API.")
def stack(workers: int, api_workers: int) -> None:
    """The real topology as local processes: gunicorn APIs, workers and the gateway."""
    from shared import stack as runner

    sys.exit(runner.run(_settings(), _services(), workers, api_workers))


@cli.command()
@SERVICE
@click.option("--port", type=int, help="Port (default: the service's own).")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), envvar="API_WORKERS",
              help="Gunicorn processes (or API_WORKERS).")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256), envvar="API_THREADS",
              help="Threads per process (or API_THREADS).")
def api(service: str, port: int | None, host: str, workers: int, threads: int) -> None:
    """One service's API under gunicorn."""
    from shared.serve import serve_api, share_metrics_between_processes

    settings = _settings()
    _refuse_embedded(settings, "api")
    if workers > 1:
        share_metrics_between_processes()
    serve_api(_services(service)[service], settings, host, port or PORTS[service], workers, threads)


@cli.command()
@SERVICE
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=0, envvar="METRICS_PORT", show_default=True,
              help="Serve this worker's Prometheus metrics on this port (0: off).")
def worker(service: str, metrics_port: int) -> None:
    """One service's consumer, outbox relay and timers; start as many as you like."""
    from shared.worker import build_worker

    settings = _settings()
    _refuse_embedded(settings, "worker")
    built = build_worker(_services(service)[service], settings)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, registry=built.runtime.metrics.registry)
    built.run_forever()


@cli.command()
@click.option("--port", default=PORTS["gateway"], show_default=True, type=int)
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), envvar="GATEWAY_WORKERS",
              help="Gunicorn processes (or GATEWAY_WORKERS).")
def gateway(port: int, host: str, workers: int) -> None:
    """The gateway that routes by path to each service (targets from GATEWAY_<SERVICE>_URL)."""
    from shared.serve import serve_gateway

    _settings()
    serve_gateway(host, port, workers)


@cli.command()
@click.argument("service", required=False, type=click.Choice(SERVICES))
def migrate(service: str | None) -> None:
    """Bring one service's database (or every one's) to its newest schema."""
    from shared.db import Database, migrate as upgrade

    settings = _settings()
    for name, found in _services(service).items():
        database = Database(settings.database_url(name))
        upgrade(database, found.migrations)
        click.echo(f"migrated {name}: {database.url.render_as_string(hide_password=True)}")
        database.dispose()


@cli.command()
@click.argument("service")
@click.option("-m", "--message", required=True, help="What the revision changes (its docstring and file name).")
@click.option("--database-url", default=None, metavar="URL",
              help="Compare with this database, migrated to head first (default: a fresh SQLite file).")
def revision(service: str, message: str, database_url: str | None) -> None:
    """Write SERVICE's next migration (`kit` for the kit's tables) from what its models add or change."""
    import services
    from shared.revisions import Branch, revise

    found = services.available()
    if service != "kit" and service not in found:
        raise click.BadParameter(f"{service!r} is not a service here; choose from kit, {', '.join(found)}",
                                 param_hint="SERVICE")
    path = revise(Branch.kit() if service == "kit" else Branch.of(found[service]), message, database_url)
    click.echo(f"wrote {path}" if path else f"{service}: the models match the migrations; nothing to write")


@cli.command()
def topology() -> None:
    """Declare the exchanges and every service's queues on RabbitMQ (idempotent)."""
    from shared.bus.amqp import declare_all

    settings = _settings()
    _refuse_embedded(settings, "topology")
    found = _services()
    declare_all(settings, {name: sorted(service.handlers) for name, service in found.items()})
    click.echo(f"declared marketplace.events, marketplace.dead, marketplace.audit and the queues of {', '.join(found)}")


@cli.group()
def dlq() -> None:
    """Dead letters: list, show, replay and purge a service's parked messages."""


@dlq.command("list")
@SERVICE
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
def dlq_list(service: str, limit: int) -> None:
    """List a service's dead letters (they stay where they are)."""
    from shared.dlq import dead_letters

    letters = dead_letters(_settings(), service).list(limit)
    for letter in letters:
        click.echo(f"{letter.message_id}  {letter.type}  retries={letter.retries}  {letter.dead_at}  {letter.error}")
    click.echo(f"{len(letters)} dead letter(s) in {service}")


@dlq.command("show")
@SERVICE
@click.argument("message_id")
def dlq_show(service: str, message_id: str) -> None:
    """Show one dead letter: why it died, its headers and its body."""
    from shared.dlq import dead_letters, pretty

    for letter in dead_letters(_settings(), service).list(100000):
        if letter.message_id == message_id:
            click.echo(f"id: {letter.message_id}\ntype: {letter.type}\nretries: {letter.retries}\n"
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
    count = dead_letters(_settings(), service).replay(None if everything else set(message_ids))
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
    click.echo(f"purged {dead_letters(_settings(), service).purge()} dead letter(s) from {service}")


@cli.command("create-admin")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters; asked for when not given.")
def create_admin(email: str, password: str) -> None:
    """Make (or promote) an admin account; admins are never made over HTTP."""
    from services.users.accounts import ensure_admin
    from shared.runtime import Runtime

    if len(password) < 10:
        raise click.BadParameter("must be at least 10 characters", param_hint="--password")
    runtime = Runtime(_services("users")["users"], _settings())
    runtime.migrate()
    with runtime.unit_of_work() as uow:
        user = ensure_admin(uow, email=email, password=password)
        click.echo(f"admin {user.email} ({user.id}) is ready")
    runtime.close()


@cli.command()
@click.option("--hold-wait", default=30.0, show_default=True,
              help="Seconds to wait for the payout hold to end (start the marketplace with a short PAYOUT_HOLD).")
def demo(hold_wait: float) -> None:
    """Play one complete story against MARKETPLACE_URL and print each step."""
    from shared import demo as story

    settings = _settings()
    click.echo(f"Marketplace at {settings.marketplace_url}")
    story.run(settings.marketplace_url, hold_wait)


def _refuse_embedded(settings: Settings, command: str) -> None:
    if settings.embedded:
        raise ConfigError(f"AMQP_URL: `{command}` runs one piece of the real topology and needs a broker "
                          "(amqp://…); for everything in one process without one, use `marketplace dev`")


def main() -> None:
    try:
        cli.main(standalone_mode=True)
    except ConfigError as error:
        click.echo(f"marketplace: configuration error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
