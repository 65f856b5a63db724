"""docker-compose.yml: valid against the Compose Specification (vendored schema, no network), and
shaped as the deployment promises: an API and a worker per service, least-privilege credentials,
set-up before start, healthchecks, scalable workers, secrets only from the env file."""
from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.deploy.helpers import (
    COMPOSE,
    DEPLOY,
    ROOT,
    SERVICES,
    compose,
    env_example,
    interpolate,
    variables,
)

SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
ONE_SHOTS = {"rabbitmq-definitions", "migrate", "topology"}
PORTS = {"users": 8001, "jobs": 8002, "contracts": 8003, "payments": 8004, "reviews": 8005, "messages": 8006}


@pytest.fixture(scope="module")
def spec() -> dict:
    return compose()


@pytest.fixture(scope="module")
def resolved(spec) -> dict:
    """The services with .env.example's values substituted, as `docker compose config` would."""
    return interpolate(spec["services"], env_example())


def test_compose_file_is_valid_against_the_compose_specification():
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), str(COMPOSE)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_catches_a_broken_file(tmp_path):
    broken = tmp_path / "compose.yml"
    broken.write_text("services:\n  users-api:\n    image: x\n    depends_on:\n      migrate: {condition: sometimes}\n")
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(SCHEMA), str(broken)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0


def test_every_service_has_an_api_and_a_worker_running_its_own_command(spec):
    services = spec["services"]
    for name in SERVICES:
        api, worker = services[f"{name}-api"], services[f"{name}-worker"]
        assert api["command"][:2] == ["api", name]
        assert "--workers" in api["command"] and "--threads" in api["command"]
        assert worker["command"] == ["worker", name]
        assert api["image"] == worker["image"] == services["migrate"]["image"], "one image for everything"
    assert spec["services"]["gateway"]["command"][:3] == ["nginx", "-c", "/etc/nginx/marketplace/nginx.conf"]
    assert spec["services"]["migrate"]["command"] == ["migrate"]
    assert spec["services"]["topology"]["command"] == ["topology"]


def test_apis_and_workers_scale_freely_and_nothing_has_a_container_name(spec):
    for name, service in spec["services"].items():
        assert "container_name" not in service, name
    for name in SERVICES:
        for role in ("api", "worker"):
            assert "ports" not in spec["services"][f"{name}-{role}"], f"{name}-{role} must not bind a host port"
    assert spec["services"]["gateway"]["ports"] == ["${GATEWAY_PORT:-8000}:8000"]


def test_long_running_services_have_healthchecks_and_start_after_setup(spec):
    services = spec["services"]
    for name, service in services.items():
        if name in ONE_SHOTS:
            assert service["restart"] == "no", name
            continue
        assert "test" in service["healthcheck"] and not service["healthcheck"].get("disable"), name
    for name in SERVICES:
        for role in ("api", "worker"):
            depends = services[f"{name}-{role}"]["depends_on"]
            assert depends["migrate"] == {"condition": "service_completed_successfully"}
            assert depends["topology"] == {"condition": "service_completed_successfully"}
            assert depends["rabbitmq"] == depends["postgres"] == {"condition": "service_healthy"}
        assert "/ready" in " ".join(services[f"{name}-api"]["healthcheck"]["test"])
        assert "127.0.0.1:9100/ready" in " ".join(services[f"{name}-worker"]["healthcheck"]["test"])
    assert services["rabbitmq"]["depends_on"]["rabbitmq-definitions"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["topology"]["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}


def test_data_lives_in_named_volumes(spec):
    volumes = set(spec["volumes"])
    for name, target in (("rabbitmq", "/var/lib/rabbitmq"), ("postgres", "/var/lib/postgresql/data")):
        mounts = spec["services"][name]["volumes"]
        assert any(m.endswith(":" + target) and m.split(":")[0] in volumes for m in mounts), name


def test_each_service_gets_only_its_own_credentials(resolved):
    for name in SERVICES:
        for role in ("api", "worker"):
            env = resolved[f"{name}-{role}"]["environment"]
            broker = urlsplit(env["AMQP_URL"])
            assert (broker.hostname, broker.port, broker.path) == ("rabbitmq", 5672, "/marketplace")
            assert broker.username == name
            databases = {k for k in env if k.startswith("DATABASE_URL")}
            assert databases == {f"DATABASE_URL_{name.upper()}"}, f"{name}-{role} sees {databases}"
            database = urlsplit(env[f"DATABASE_URL_{name.upper()}"])
            assert (database.hostname, database.username, database.path) == (
                "postgres", f"marketplace_{name}", f"/marketplace_{name}")
            assert ("JWT_PRIVATE_KEY" in env) == (f"{name}-{role}" == "users-api"), "only users signs tokens"
            assert "JWT_PUBLIC_KEY" in env
            if role == "worker":
                assert env["METRICS_PORT"] == "9100"
            else:
                assert env["HEALTH_PORT"] == str(PORTS[name])
    topology = urlsplit(resolved["topology"]["environment"]["AMQP_URL"])
    assert topology.username == "operator"
    migrate = resolved["migrate"]["environment"]
    for name in SERVICES:
        assert urlsplit(migrate[f"DATABASE_URL_{name.upper()}"]).username == f"marketplace_{name}"


def test_each_consumer_expects_each_producer_as_the_broker_user_of_its_name(resolved):
    """The check of who published an event holds with the definitions' users: no mapping, so the default
    (each producer publishes as the user of its own name); the operator's replays keep their publisher."""
    from shared.config import Settings

    for name in SERVICES:
        for role in ("api", "worker"):
            env = resolved[f"{name}-{role}"]["environment"]
            settings = Settings.from_env(env)
            assert {producer: settings.publishers.of(producer) for producer in SERVICES} == {
                producer: producer for producer in SERVICES}
            assert urlsplit(env["AMQP_URL"]).username == settings.publishers.of(name)
            assert settings.replayers == {urlsplit(resolved["topology"]["environment"]["AMQP_URL"]).username}


def test_the_gateway_is_nginx_with_the_committed_configuration_on_a_read_only_root(spec):
    gateway = spec["services"]["gateway"]
    assert gateway["image"] == "${NGINX_IMAGE:-nginx:1.28.0-bookworm}"
    assert gateway["volumes"] == ["./deploy/nginx:/etc/nginx/marketplace:ro"]
    assert gateway["read_only"] is True and gateway["tmpfs"] == ["/tmp"]
    assert "/health" in " ".join(gateway["healthcheck"]["test"])
    for name in SERVICES:
        assert gateway["depends_on"][f"{name}-api"] == {"condition": "service_healthy"}


def test_secrets_come_from_the_env_file_and_env_example_lists_them_all():
    text = COMPOSE.read_text()
    assert "guest" not in json.dumps(compose()), "no broker guest user anywhere" 
    example = env_example()
    required = {name for name, operator in variables(text).items() if operator in (":?", "?")}
    assert required, "secrets must be required (${VAR:?message})"
    assert required <= set(example), f".env.example misses {sorted(required - set(example))}"
    for name in required:
        assert name.endswith(("_PASSWORD", "_KEY")), f"{name} is required but is not a secret"
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored
    assert not (ROOT / ".env").exists() or ".env" in ignored


def test_without_the_env_file_compose_refuses_to_start(spec):
    with pytest.raises(KeyError, match=r"set \w+ in \.env"):
        interpolate(spec["services"]["payments-worker"], {})
