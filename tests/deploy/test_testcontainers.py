"""The testcontainers path for real: a test session with AMQP_URL and DATABASE_URL unset.

tests/conftest.py falls back to testcontainers when no server is named in the environment
(tests/infra.py: the images from TEST_RABBITMQ_IMAGE / TEST_POSTGRES_IMAGE, the broker URL from
the container's own user, password, vhost and mapped port). This runs a representative part of
the suite that way in a pytest of its own: the kit (bus, outbox, timers on both brokers' paths)
and one service's folder, against the images deploy/local-engine.sh provides (the Debian-built
ones where no registry answers), and checks that the session really started its containers from
those images and left none of them behind.

Without an engine (or the script) it is skipped, except under CI, where it fails.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests import infra
from tests.deploy.helpers import ROOT, local_engine

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

# The migration tests make vhosts of their own with the host's rabbitmqctl, beside the local broker:
# on a container's broker they have no such tool, so this session leaves them out.
SUBSET = ("tests/kit", "tests/payments", "--ignore=tests/kit/test_amqp_migration.py")
UNSET = ("AMQP_URL", "DATABASE_URL", "PYTEST_ADDOPTS")


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    return local_engine()


def started_since(since: float) -> dict[str, str]:
    """The containers testcontainers started since then: each one's full id and its image."""
    listed = subprocess.run(["docker", "events", "--since", f"{since:.0f}", "--until", f"{time.time():.0f}",
                             "--filter", "event=start", "--filter", "label=org.testcontainers.lang=python",
                             "--format", "{{json .Actor}}"],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    actors = [json.loads(line) for line in listed.splitlines() if line.strip()]
    return {actor["ID"]: actor["Attributes"]["image"] for actor in actors}


def still_there(containers: dict[str, str]) -> list[str]:
    """Those of the containers that still exist, running or stopped."""
    present = subprocess.run(["docker", "ps", "-a", "-q", "--no-trunc",
                              "--filter", "label=org.testcontainers.lang=python"],
                             capture_output=True, text=True, timeout=60, check=True).stdout.split()
    return [container for container in present if container in containers]


def test_a_session_without_server_urls_runs_on_testcontainers(images):
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    env.update({"CI": "true", "DOCKER_HOST": os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"),
                "TEST_RABBITMQ_IMAGE": images["TEST_RABBITMQ_IMAGE"],
                "TEST_POSTGRES_IMAGE": images["TEST_POSTGRES_IMAGE"],
                "TESTCONTAINERS_RYUK_DISABLED": images.get("TESTCONTAINERS_RYUK_DISABLED", "false")})
    assert infra.docker_answers()
    since = time.time() - 1
    session = subprocess.run([sys.executable, "-m", "pytest", *SUBSET, "-x", "-q", "-p", "no:cacheprovider"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=1700, check=False)
    assert session.returncode == 0, session.stdout[-6000:] + session.stderr[-3000:]
    assert " skipped" not in session.stdout.splitlines()[-1], session.stdout[-3000:]
    started = started_since(since)
    assert {images["TEST_RABBITMQ_IMAGE"], images["TEST_POSTGRES_IMAGE"]} <= set(started.values()), started
    # Only this session's own: a session killed earlier on this engine may have left its containers.
    left = still_there(started)
    assert not left, f"testcontainers left containers behind: {left}"
