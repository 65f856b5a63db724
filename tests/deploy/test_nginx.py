"""deploy/nginx, compose's gateway: it routes exactly the registry's routes (those of the in-process
gateway, so the two cannot drift), to upstreams that are the APIs compose runs, and nginx itself
accepts the configuration (`nginx -t`, in the gateway's image, or with the machine's nginx when it
is recent enough; deploy/local-engine.sh gets the engine and the image where neither is there)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from marketplace import gateway, nginx, registry
from tests import infra
from tests.deploy.helpers import DEPLOY, compose, local_engine

FOLDER = DEPLOY / "nginx"
ROUTES_CONF = FOLDER / "routes.conf"
LOCATION = re.compile(r"location (= )?(\S+) \{ proxy_pass http://([a-z0-9-]+)(\S*); \}")
UPSTREAM = re.compile(r"upstream ([a-z0-9-]+) \{([^}]*)\}")
SERVER = re.compile(r"server ([a-z0-9-]+):(\d+) resolve;")
LOCAL_IMAGE = "marketplace-local/nginx:1.30-sid"  # deploy/local-engine.sh's
DEFAULT_IMAGE = "nginx:1.28.0-bookworm"
RESOLVE_SINCE = (1, 27, 3)  # `server … resolve` in an upstream, outside NGINX Plus


def locations() -> dict[tuple[bool, str], tuple[str, str]]:
    """{(exact?, path): (upstream, the URI it is given or "" for the request's own)} of routes.conf."""
    found = {}
    for exact, path, upstream, uri in LOCATION.findall(ROUTES_CONF.read_text()):
        assert (bool(exact), path) not in found, f"{path} is routed twice"
        found[(bool(exact), path)] = (upstream, uri)
    return found


def upstreams() -> dict[str, list[tuple[str, int]]]:
    return {name: [(host, int(port)) for host, port in SERVER.findall(body)]
            for name, body in UPSTREAM.findall(ROUTES_CONF.read_text())}


def test_routes_conf_is_what_the_registry_makes():
    assert ROUTES_CONF.read_text() == nginx.render(), (
        "deploy/nginx/routes.conf differs from the registry: run `marketplace nginx --output deploy/nginx/routes.conf`")


def test_every_route_of_the_registry_and_no_other_goes_to_its_service():
    expected = {}
    for segment, service in registry.ROUTES.items():
        expected[(True, f"/{segment}")] = (service, "")
        expected[(False, f"/{segment}/")] = (service, "")
    for name in registry.NAMES:
        for path in ("/docs", "/openapi.json"):
            expected[(True, f"/api/{name}{path}")] = (name, path)
        expected[(False, f"/api/{name}/docs/")] = (name, "/docs/")
    assert locations() == expected


def test_nginx_and_the_in_process_gateway_send_each_path_to_the_same_service_and_path():
    for (exact, path), (upstream, uri) in locations().items():
        for probe in ([path] if exact else [path + "x", path + "a/b"]):
            route = gateway.route(probe)
            assert route is not None and route.service == upstream, probe
            assert route.path == (probe if not uri else uri + probe[len(path):]), probe
    for unrouted in ("/", "/jobsx", "/api/jobs/metrics", "/api/jobs/ready", "/api/nobody/docs"):
        assert gateway.route(unrouted) is None
        assert not any(path == unrouted if exact else unrouted.startswith(path)
                       for exact, path in locations()), unrouted


def test_each_upstream_is_one_api_of_compose_on_its_port():
    services = compose()["services"]
    apis = {name: service for name, service in services.items() if service.get("command", [""])[0] == "api"}
    found = upstreams()
    assert set(found) == set(registry.NAMES)
    assert {host for servers in found.values() for host, _ in servers} == set(apis)
    for name, servers in found.items():
        [(host, port)] = servers
        assert apis[host]["command"][:2] == ["api", name]
        assert str(port) in apis[host]["expose"] and apis[host]["environment"]["HEALTH_PORT"] == str(port)
        assert port == registry.BY_NAME[name].port


def machine_nginx() -> str | None:
    """This machine's nginx, if it is recent enough to know `resolve`."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        return None
    version = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False).stderr
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version)
    return binary if found and tuple(map(int, found.groups())) >= RESOLVE_SINCE else None


@pytest.fixture(scope="module")
def nginx_test():
    """`nginx -t` on the configuration in a folder: in the gateway's image where an engine answers, else with
    this machine's nginx if it knows `resolve`, else in the image deploy/local-engine.sh starts an engine for
    and builds (skipped without it, failed in CI)."""
    if infra.docker_answers():
        image = os.environ.get("NGINX_IMAGE") or (LOCAL_IMAGE if subprocess.run(
            ["docker", "image", "inspect", LOCAL_IMAGE], capture_output=True, check=False).returncode == 0
            else DEFAULT_IMAGE)
    elif binary := machine_nginx():
        return lambda folder: subprocess.run([binary, "-t", "-c", str(folder / "nginx.conf"), "-e", "stderr"],
                                             capture_output=True, text=True, timeout=60, check=False)
    else:
        image = local_engine()["NGINX_IMAGE"]
    return lambda folder: subprocess.run(
        ["docker", "run", "--rm", "--read-only", "--tmpfs", "/tmp", "--network", "none",
         "-v", f"{folder}:/etc/nginx/marketplace:ro", image,
         "nginx", "-t", "-c", "/etc/nginx/marketplace/nginx.conf", "-e", "stderr"],
        capture_output=True, text=True, timeout=120, check=False)


# Setting up the engine from nothing takes minutes.
@pytest.mark.timeout(1800)
def test_nginx_accepts_the_configuration(nginx_test):
    checked = nginx_test(FOLDER)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


@pytest.mark.timeout(1800)
def test_nginx_refuses_a_broken_one(nginx_test, tmp_path):
    broken = tmp_path / "nginx"
    shutil.copytree(FOLDER, broken)
    (broken / "routes.conf").write_text(ROUTES_CONF.read_text().replace("keepalive 16;", "keepalive sixteen;", 1))
    os.chmod(broken, 0o755)
    checked = nginx_test(broken)
    assert checked.returncode != 0 and "keepalive" in checked.stderr


@pytest.mark.parametrize("status", [400, 404, 413, 502, 504])
def test_what_nginx_answers_itself_is_problem_json(status):
    text = (FOLDER / "server.conf").read_text()
    if status == 404:
        block = re.search(r"location / \{(.*?)\n\}", text, re.S).group(1)
    else:
        named = re.search(rf"error_page {status} (@\w+);", text).group(1)
        block = re.search(rf"location {named} \{{(.*?)\n\}}", text, re.S).group(1)
    assert "default_type application/problem+json;" in block
    body = json.loads(re.search(rf"return {status} '(.*)';", block).group(1))
    assert body["status"] == status and body["type"] == "about:blank" and body["title"] and body["detail"]
