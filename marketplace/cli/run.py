"""Running it: everything in one process, the real topology as processes, or one piece of it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from marketplace import registry
from marketplace.cli.common import SERVICE, refuse_embedded, services, settings

PORT_BASE = click.option("--port-base", type=click.IntRange(1, 65535), metavar="N",
                         help="Gateway on N, the services on N+1, N+2, … (default: MARKETPLACE_PORT_<SERVICE>, "
                              "else 8000 and 8001-8006).")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@PORT_BASE
def dev(host: str, port_base: int | None) -> None:
    """Everything in one process: APIs on 8001-8006, gateway on 8000, workers, SQLite under var/."""
    from marketplace import dev as runner

    # Webhooks: a developer's receiver listens on this machine, so loopback targets are allowed here.
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE", "true")
    runner.run(settings(), services(), host, registry.ports(base=port_base))


@click.command()
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32), help="Workers per service.")
@click.option("--api-workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Gunicorn processes per API.")
@PORT_BASE
def stack(workers: int, api_workers: int, port_base: int | None) -> None:
    """The real topology as local processes: gunicorn APIs, workers and the gateway."""
    from marketplace import stack as runner

    sys.exit(runner.run(settings(), services(), workers, api_workers, registry.ports(base=port_base)))


@click.command()
@SERVICE
@click.option("--port", type=int, help="Port (default: the service's own, MARKETPLACE_PORT_<SERVICE>).")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), envvar="API_WORKERS",
              help="Gunicorn processes (or API_WORKERS).")
@click.option("--threads", type=click.IntRange(1, 256), envvar="API_THREADS",
              help="Threads per process (or API_THREADS; default 4, messages 32: a stream holds one).")
def api(service: str, port: int | None, host: str, workers: int, threads: int | None) -> None:
    """One service's API under gunicorn."""
    from shared.serve import serve_api, share_metrics_between_processes

    found = settings()
    refuse_embedded(found, "api")
    port = port or registry.ports()[service]
    if workers > 1:
        share_metrics_between_processes()
    serve_api(services(service)[service], found, host, port, workers, threads or registry.BY_NAME[service].threads)


@click.command()
@SERVICE
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=0, envvar="METRICS_PORT", show_default=True,
              help="Serve this worker's /health, /ready and /metrics on this port (0: off).")
def worker(service: str, metrics_port: int) -> None:
    """One service's consumer, outbox relay and timers; start as many as you like."""
    from shared.worker import build_worker

    found = settings()
    refuse_embedded(found, "worker")
    built = build_worker(services(service)[service], found)
    if metrics_port:
        from shared.probes import serve_probes

        serve_probes(built, metrics_port)
    built.run_forever()


@click.command()
@click.option("--port", type=int, help="Port (default: MARKETPLACE_PORT_GATEWAY, else 8000).")
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), envvar="GATEWAY_WORKERS",
              help="Gunicorn processes (or GATEWAY_WORKERS).")
def gateway(port: int | None, host: str, workers: int) -> None:
    """The gateway that routes by path to each service (targets from GATEWAY_<SERVICE>_URL)."""
    from marketplace.gateway import serve

    settings()
    ports = registry.ports()
    serve(host, port or ports[registry.GATEWAY], workers, ports)


@click.command()
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it here (deploy/nginx/routes.conf) instead of to standard output.")
def nginx(output: Path | None) -> None:
    """The gateway's routes for nginx (compose's gateway), made from the services' routes."""
    from marketplace.nginx import render

    if output is None:
        click.echo(render(), nl=False)
    else:
        output.write_text(render())
        click.echo(f"wrote {output}")


@click.command()
@click.option("--hold-wait", default=30.0, show_default=True,
              help="Seconds to wait for the payout hold to end (start the marketplace with a short PAYOUT_HOLD).")
@click.option("--hourly", is_flag=True,
              help="Play one hourly week instead (start the marketplace with a short BILLING_PERIOD).")
@click.option("--dispute", is_flag=True,
              help="Play a disputed milestone instead: refund asked, disputed, mediated by an admin and split.")
@click.option("--admin-email", envvar="ADMIN_EMAIL", help="The mediating admin of --dispute (or ADMIN_EMAIL).")
@click.option("--admin-password", envvar="ADMIN_PASSWORD", help="Its password (or ADMIN_PASSWORD).")
def demo(hold_wait: float, hourly: bool, dispute: bool, admin_email: str | None, admin_password: str | None) -> None:
    """Play one complete story against MARKETPLACE_URL and print each step."""
    from marketplace import demo as story, demo_dispute, demo_hourly
    from shared import tracing

    found = settings()
    click.echo(f"Marketplace at {found.marketplace_url}")
    # With OTEL_EXPORTER_OTLP_ENDPOINT set, the whole story is one trace: every request carries it.
    if hourly and dispute:
        raise click.UsageError("--hourly and --dispute are two stories; choose one")
    with tracing.tracer(tracing.provider_for("demo")).start_as_current_span("demo story") as span:
        if dispute:
            demo_dispute.run(found.marketplace_url, admin_email, admin_password)
        elif hourly:
            demo_hourly.run(found.marketplace_url, max(hold_wait, 60.0))
        else:
            story.run(found.marketplace_url, hold_wait)
    if span.get_span_context().is_valid:
        click.echo(f"trace: {span.get_span_context().trace_id:032x}")
    tracing.shutdown()
