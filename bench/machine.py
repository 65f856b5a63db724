"""What the numbers were measured on: the report opens with it."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import sqlalchemy as sa

from shared.db import normalize_url
from shared.dlq import pika_parameters


def describe(pg_server_url: str, amqp_url: str) -> dict:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_meminfo("MemTotal") / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "python": platform.python_version(),
        "postgresql": _postgresql(pg_server_url),
        "rabbitmq": _rabbitmq(amqp_url),
        "wrk": _first_line(["wrk", "--version"]),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _meminfo(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.system())
    except OSError:
        return platform.system()


def _postgresql(url: str) -> str:
    engine = sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SHOW server_version").scalar()
    finally:
        engine.dispose()


def _rabbitmq(url: str) -> str:
    import pika

    connection = pika.BlockingConnection(pika_parameters(url))
    try:
        version = connection._impl.server_properties.get("version", "?")
        return version.decode() if isinstance(version, bytes) else str(version)
    finally:
        connection.close()


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (done.stdout or done.stderr).splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "not found"
