"""Where the tests find RabbitMQ and PostgreSQL: the environment, else testcontainers, else skip.

In CI (`CI` set) a missing server fails the run instead: nothing that needs one may be skipped.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from urllib.parse import quote, urlsplit

import pytest

HOW = ("set AMQP_URL=amqp://guest:guest@127.0.0.1:5672// and "
       "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres, or start a Docker engine")


def unavailable(what: str) -> None:
    message = f"{what} is not available: {HOW}"
    if os.environ.get("CI"):
        pytest.fail(f"CI must not skip: {message}", pytrace=False)
    pytest.skip(message)


def docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means no engine to use
        return False


# The images testcontainers starts: the official tags compose uses (docker-compose.yml) unless
# TEST_RABBITMQ_IMAGE / TEST_POSTGRES_IMAGE name others (deploy/local-engine.sh sets them to the
# images it builds where no registry answers).
RABBITMQ_IMAGE = "rabbitmq:3.13.7-management"
POSTGRES_IMAGE = "postgres:15.13-bookworm"


def rabbitmq_image() -> str:
    return os.environ.get("TEST_RABBITMQ_IMAGE") or RABBITMQ_IMAGE


def postgres_image() -> str:
    return os.environ.get("TEST_POSTGRES_IMAGE") or POSTGRES_IMAGE


def rabbitmq_url(container) -> str:
    """The container's own user, password and vhost, on the host port mapped to its AMQP port."""
    vhost = quote(container.vhost, safe="")
    return (f"amqp://{quote(container.username, safe='')}:{quote(container.password, safe='')}"
            f"@{container.get_container_host_ip()}:{container.get_exposed_port(container.port)}/{vhost}")


# The broker testcontainers started for this session, if it did: its own rabbitmqctl manages it.
_rabbitmq_container = None


def start_rabbitmq(stack):
    global _rabbitmq_container
    from testcontainers.community.rabbitmq import RabbitMqContainer

    _rabbitmq_container = stack.enter_context(RabbitMqContainer(rabbitmq_image()))
    return rabbitmq_url(_rabbitmq_container)


def rabbitmqctl(amqp_url: str):
    """`ctl(*args) -> (exit code, output)`: rabbitmqctl for the broker at `amqp_url`, run in the container
    testcontainers started, else beside the local broker; none where neither can reach it."""
    if _rabbitmq_container is not None:
        container = _rabbitmq_container

        def in_container(*args: str) -> tuple[int, str]:
            code, output = container.exec(["rabbitmqctl", "-q", *args])
            return code, output.decode(errors="replace")
        return in_container
    if urlsplit(amqp_url).hostname in ("127.0.0.1", "localhost") and shutil.which("rabbitmqctl"):
        def beside(*args: str) -> tuple[int, str]:
            done = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
            return done.returncode, done.stdout + done.stderr
        return beside
    return None


def start_postgres(stack):
    from testcontainers.community.postgres import PostgresContainer

    container = stack.enter_context(PostgresContainer(postgres_image(), driver="psycopg"))
    return container.get_connection_url()


def amqp_user(url: str) -> str:
    """The broker user a URL connects as (kombu's reading: `guest` when it names none)."""
    from kombu import Connection

    return Connection(url).userid


@contextlib.contextmanager
def broker_user(amqp_url: str, prefix: str, write: str = ".*"):
    """A broker user of its own on `amqp_url`'s vhost, allowed to publish to exchanges matching `write`
    (and nothing else); yields its URL and deletes it at the end. Needs rabbitmqctl for the broker."""
    parts = urlsplit(amqp_url)
    run = rabbitmqctl(amqp_url)
    if run is None:
        unavailable("rabbitmqctl for the broker (beside the local RabbitMQ, or in its container) to add a user")
    from kombu import Connection

    vhost = Connection(amqp_url).virtual_host or "/"
    name, password = unique(prefix), uuid.uuid4().hex

    def ctl(*args: str) -> None:
        code, output = run(*args)
        assert code == 0, f"rabbitmqctl {args[0]}: {output}"

    ctl("add_user", name, password)
    try:
        ctl("set_permissions", "-p", vhost, name, "", write, "")
        yield f"amqp://{name}:{password}@{parts.hostname}:{parts.port or 5672}/{quote(vhost, safe='')}"
    finally:
        run("delete_user", name)


def shared_queues_as_declared(amqp_url: str) -> None:
    """Every test declares `marketplace.audit` on the broker; one an older run left declared otherwise
    (classic, before quorum queues) is deleted and declared again. It holds only earlier runs' traffic,
    published by broker users (the rogue publishers of the forged-event tests) whose `user_id` only an
    impersonator could copy, so moving it as `marketplace topology` does (tests/kit/test_amqp_migration.py)
    is not the tests' business."""
    from amqp.exceptions import PreconditionFailed

    from shared.bus.amqp import AmqpBus
    from shared.config import Settings

    bus = AmqpBus(Settings(amqp_url=amqp_url))
    audit = bus.queues()[0]
    with bus.connection() as connection:
        for exchange in bus.exchanges():
            exchange.bind(connection.default_channel).declare()
        try:
            audit.bind(connection.default_channel).declare()
            return
        except PreconditionFailed:
            pass
    with bus.connection() as connection:
        connection.default_channel.queue_delete(audit.name)
        connection.default_channel.queue_delete(f"{audit.name}.migrating")
        audit.bind(connection.default_channel).declare()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
