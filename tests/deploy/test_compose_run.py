"""docker-compose.yml's commands, run as local processes exactly as compose gives them.

For each compose service of the application (`migrate`, `topology`, every `<service>-api` and
`<service>-worker`), this takes its `command` and `environment` from the compose file,
interpolates the `${...}` as compose does (secrets made up for the run), maps the compose
hostnames to the local servers (`rabbitmq` -> the local RabbitMQ with the broker users of the
committed definitions imported into a fresh vhost; `postgres` -> the local PostgreSQL with the
databases and roles made by deploy/postgres/init-databases.sh; `<service>-api` -> 127.0.0.1),
adds the image's ENV, and runs `python -m marketplace.cli <command>`. Only two things differ from the
containers: each worker's METRICS_PORT (9100 in every container) gets a free port of its own, and
VAR_DIR is a temporary folder. Compose's gateway is nginx, not a command of the image: the
in-process gateway (`marketplace gateway`, the same routes, tests/deploy/test_nginx.py) stands in
for it. The one-shots must succeed; then every API and every worker must answer /ready (a worker
once its consumer is subscribed), every worker must consume its queue with its own broker user,
and a request through the gateway must reach two services and be authorised by the JWT keys from
the env file.

The APIs use ports 8001-8005 and the gateway 8000, as in compose: the test waits (up to three
minutes) for them to be free, since other tests (tests/platform) use them too.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests

from tests.deploy.conftest import _rabbitmqctl
from tests.deploy.helpers import ROOT, SERVICES, compose, env_example, interpolate
from tests.ports import free_port, port_free

pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres]

PUBLIC_PORTS = (8000, 8001, 8002, 8003, 8004, 8005)
PORT_WAIT = 180
START_WAIT = 90
# The image's ENV (Dockerfile), which compose does not repeat.
IMAGE_ENV = {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1", "LOG_FORMAT": "json",
             "HEALTH_PORT": "8000", "HEALTH_PATH": "/health"}
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")


def wait_for_public_ports() -> None:
    deadline = time.monotonic() + PORT_WAIT
    while not all(port_free(port) for port in PUBLIC_PORTS):
        if time.monotonic() > deadline:
            busy = [port for port in PUBLIC_PORTS if not port_free(port)]
            pytest.fail(f"ports {busy} stayed busy for {PORT_WAIT}s (another test run is using them)")
        time.sleep(2)


def keys() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private.replace("\n", "\\n"), public.replace("\n", "\\n")  # one line, as in .env


class Local:
    """Compose's names -> the local servers and the credentials the fixtures made."""

    def __init__(self, broker: dict, databases: dict, pg_server_url: str):
        self.broker, self.databases = broker, databases
        server = urlsplit(pg_server_url.replace("postgresql+psycopg://", "postgresql://"))
        self.pg_host, self.pg_port = server.hostname or "127.0.0.1", server.port or 5432

    def secrets(self) -> dict[str, str]:
        private, public = keys()
        values = {**env_example(), "JWT_PRIVATE_KEY": private, "JWT_PUBLIC_KEY": public}
        for name, (_, password) in self.broker["users"].items():
            values[f"RABBITMQ_{name.upper()}_PASSWORD"] = password
        for name, (_, _, password) in self.databases.items():
            values[f"POSTGRES_{name.upper()}_PASSWORD"] = password or ""
        return values

    def value(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme == "amqp" and parts.hostname == "rabbitmq":
            user, password = self.broker["users"][parts.username]
            assert parts.password == password
            return (f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{self.broker['host']}:{self.broker['port']}"
                    f"/{quote(self.broker['prefix'] + parts.path.lstrip('/'), safe='')}")
        if parts.scheme.startswith("postgresql") and parts.hostname == "postgres":
            service = parts.path.lstrip("/").removeprefix("marketplace_")
            assert parts.username == f"marketplace_{service}"
            database, role, password = self.databases[service]
            credentials = quote(role or "postgres", safe="") + (f":{quote(password, safe='')}" if password else "")
            return urlunsplit((parts.scheme, f"{credentials}@{self.pg_host}:{self.pg_port}", f"/{database}", "", ""))
        if parts.scheme == "http" and parts.hostname and parts.hostname.endswith("-api"):
            return f"http://127.0.0.1:{parts.port}"
        return value


@pytest.fixture
def processes(tmp_path):
    started: list[tuple[str, subprocess.Popen, object]] = []

    def start(name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed after the process, in teardown
        process = subprocess.Popen([sys.executable, "-m", "marketplace.cli", *command], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append((name, process, log))
        return process

    start.started = started
    start.log = lambda name: (tmp_path / f"{name}.log").read_text(errors="replace")[-3000:]
    yield start
    for _, process, _ in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for _, process, log in started:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def test_every_compose_service_starts_locally_as_compose_runs_it(broker, databases, pg_server_url, processes, tmp_path):
    local = Local(broker, databases, pg_server_url)
    services = interpolate(compose()["services"], local.secrets())
    base = {name: os.environ[name] for name in INHERITED if name in os.environ}

    def environment(name: str) -> dict:
        env = {**base, **IMAGE_ENV, "VAR_DIR": str(tmp_path / "var" / name)}
        env.update({key: local.value(str(value)) for key, value in services[name].get("environment", {}).items()})
        # The definitions' users carry this run's prefix here: the consumers' check must expect them under it.
        env["AMQP_PUBLISHERS"] = ",".join(f"{s}={broker['users'][s][0]}" for s in SERVICES)
        if env.get("AMQP_REPLAYERS") == "operator":
            env["AMQP_REPLAYERS"] = broker["users"]["operator"][0]
        if "METRICS_PORT" in env:
            env["METRICS_PORT"] = str(free_port())
        return env

    for one_shot in ("migrate", "topology"):
        process = processes(one_shot, services[one_shot]["command"], environment(one_shot))
        assert process.wait(timeout=120) == 0, processes.log(one_shot)

    wait_for_public_ports()
    running, metrics = {}, {}
    for name in [f"{s}-{role}" for s in SERVICES for role in ("api", "worker")]:
        env = environment(name)
        running[name] = processes(name, services[name]["command"], env)
        if name.endswith("-worker"):
            metrics[name] = int(env["METRICS_PORT"])
    running["gateway"] = processes("gateway", ["gateway", "--port", "8000", "--workers", "1"], {
        **base, **IMAGE_ENV, **{f"GATEWAY_{s.upper()}_URL": f"http://127.0.0.1:{port}"
                                for s, port in zip(SERVICES, PUBLIC_PORTS[1:])}})

    urls = {f"{s}-api": f"http://127.0.0.1:{port}/ready" for s, port in zip(SERVICES, PUBLIC_PORTS[1:])}
    urls["gateway"] = "http://127.0.0.1:8000/ready"
    urls.update({name: f"http://127.0.0.1:{port}/ready" for name, port in metrics.items()})
    pending, deadline = dict(urls), time.monotonic() + START_WAIT
    while pending and time.monotonic() < deadline:
        for name, url in list(pending.items()):
            assert running[name].poll() is None, f"{name} exited:\n{processes.log(name)}"
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    del pending[name]
            except requests.RequestException:
                pass
        time.sleep(0.5)
    assert not pending, "not ready: " + ", ".join(f"{n}\n{processes.log(n)}" for n in pending)

    # Every worker of a service that handles events consumes its own queue with its own broker user.
    from marketplace.registry import available

    expected = {f"{name}.events" for name, service in available().items() if service.handlers}
    assert expected
    deadline = time.monotonic() + 30
    while True:
        listed = _rabbitmqctl("list_consumers", "-p", broker["vhost"], "queue_name", "channel_pid", check=False).stdout
        consumed = {line.split("\t")[0] for line in listed.splitlines() if "\t" in line}
        if expected <= consumed or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert expected <= consumed, listed

    # Through the gateway: users signs a token (private key), jobs verifies it (public key).
    gateway = "http://127.0.0.1:8000"
    email = f"deploy-{os.getpid()}-{time.monotonic_ns()}@example.com"
    created = requests.post(f"{gateway}/users", json={"email": email, "password": "correct horse battery",
                                                      "name": "Ada", "roles": ["client"]}, timeout=10)
    assert created.status_code == 201, created.text
    token = requests.post(f"{gateway}/auth/token", json={"email": email, "password": "correct horse battery"},
                          timeout=10)
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    job = requests.post(f"{gateway}/jobs", headers=headers, timeout=10, json={
        "title": "Deploy check", "description": "Started as compose starts it.", "skills": ["ops"],
        "budget_type": "fixed", "budget_amount": 10000})
    assert job.status_code == 201, job.text
    assert requests.get(f"{gateway}/jobs/{job.json()['id']}", timeout=10).json()["title"] == "Deploy check"
    assert_a_forged_release_is_refused(broker)
    for name, process in running.items():
        assert process.poll() is None, f"{name} exited:\n{processes.log(name)}"
    assert json.loads(requests.get(f"{gateway}/health", timeout=5).text)["status"] == "ok"


def assert_a_forged_release_is_refused(broker) -> None:
    """jobs' user forges payments.escrow.released: the broker refuses it on marketplace.events (not jobs'
    routing key); put straight on contracts' queue, contracts parks it as forged, for the operator to see."""
    import pika

    from shared.config import Settings
    from shared.dlq import AmqpDeadLetters, pika_parameters
    from shared.events import Envelope
    from shared.ids import new_id

    forged = Envelope.new("payments.escrow.released", {
        "contract_id": new_id(), "milestone_id": new_id(), "freelancer_id": new_id(), "amount": 10_000,
        "freelancer_fee": 1_000, "available_at": "2030-01-01T00:00:00Z"}, producer="payments", correlation_id=new_id())
    jobs = pika_parameters(broker["url"]("jobs"))
    properties = pika.BasicProperties(message_id=forged.id, type=forged.type, delivery_mode=2,
                                      user_id=jobs.credentials.username)
    connection = pika.BlockingConnection(jobs)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="ACCESS_REFUSED"):
            channel.basic_publish("marketplace.events", forged.type, forged.to_json().encode(), properties)
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish("", "contracts.events", forged.to_json().encode(), properties, mandatory=True)
    finally:
        connection.close()
    dead = AmqpDeadLetters(Settings(amqp_url=broker["url"]("operator")), "contracts")
    deadline = time.monotonic() + 30
    while not (letters := [letter for letter in dead.list() if letter.message_id == forged.id]):
        assert time.monotonic() < deadline, "contracts did not park the forged release"
        time.sleep(0.5)
    assert letters[0].error == (f"forged: payments.escrow.released from payments was published by broker user "
                                f"{jobs.credentials.username!r}, not by {broker['users']['payments'][0]!r}")
