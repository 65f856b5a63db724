"""Where the tests find RabbitMQ and PostgreSQL: the environment, else testcontainers, else skip.

In CI (`CI` set) a missing server fails the run instead: nothing that needs one may be skipped.
"""
from __future__ import annotations

import os
import uuid

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


def start_rabbitmq(stack):
    from testcontainers.rabbitmq import RabbitMqContainer

    container = stack.enter_context(RabbitMqContainer("rabbitmq:3.13-management-alpine"))
    return f"amqp://guest:guest@{container.get_container_host_ip()}:{container.get_exposed_port(5672)}//"


def start_postgres(stack):
    from testcontainers.postgres import PostgresContainer

    container = stack.enter_context(PostgresContainer("postgres:16-alpine", driver="psycopg"))
    return container.get_connection_url()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
