"""The in-process gateway (`make run`, `marketplace stack`): it routes by the first path segment,
says who called it, and answers for a service that is down (502) or too slow (504) with
problem+json; each service's docs are reachable through it under /api/<service>."""
from __future__ import annotations

import json
import re
import socket
from urllib.parse import urljoin

import pytest
from werkzeug.test import Client

from marketplace import gateway, registry
from shared.http import create_app


def echo(environ, start_response):
    """A service that answers with what it was sent."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    seen = {"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"], "query": environ["QUERY_STRING"],
            "body": body.decode(), "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "forwarded_proto": environ.get("HTTP_X_FORWARDED_PROTO"),
            "forwarded_host": environ.get("HTTP_X_FORWARDED_HOST"), "host": environ.get("HTTP_HOST")}
    start_response("201 CREATED", [("Content-Type", "application/json"), ("Location", "/jobs/1")])
    return [json.dumps(seen).encode()]


@pytest.fixture
def silent():
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def through(targets: dict[str, str], timeout: float = gateway.TIMEOUT) -> Client:
    everywhere = {name: closed_port() for name in registry.NAMES}
    return Client(gateway.proxy({**everywhere, **targets}, timeout=timeout))


def assert_problem(response, status: int, *words: str) -> dict:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    for word in words:
        assert word in body["detail"], body
    return body


class TestForwarding:
    def test_a_request_reaches_the_service_that_owns_its_first_segment(self, serve):
        client = through({"jobs": serve(echo)})
        response = client.post("/jobs/abc?limit=5", json={"title": "x"}, headers={"Host": "market.example"})
        assert response.status_code == 201 and response.headers["Location"] == "/jobs/1"
        seen = response.get_json()
        assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/jobs/abc", "limit=5")
        assert json.loads(seen["body"]) == {"title": "x"}
        assert (seen["host"], seen["forwarded_host"], seen["forwarded_proto"]) == (
            "market.example", "market.example", "http")

    def test_the_caller_is_what_the_gateway_saw_not_what_it_claims(self, serve):
        client = through({"users": serve(echo)})
        seen = client.get("/auth/token", headers={"X-Forwarded-For": "10.6.6.6"},
                          environ_base={"REMOTE_ADDR": "192.0.2.7"}).get_json()
        assert seen["forwarded_for"] == "192.0.2.7"

    def test_a_path_no_service_owns_is_a_404_problem(self, serve):
        client = through({name: serve(echo) for name in registry.NAMES})
        assert_problem(client.get("/jobsx"), 404, "/jobsx")
        assert_problem(client.get("/api/jobs/metrics"), 404)
        assert client.get("/health").get_json() == {"status": "ok", "service": "gateway"}


class TestServiceOutages:
    def test_a_service_that_is_down_is_a_502_problem_naming_it(self):
        assert_problem(through({}).post("/payments/deposits", json={"amount": 100}), 502, "payments")

    def test_a_service_too_slow_to_answer_is_a_504_problem_naming_it(self, silent):
        response = through({"reviews": silent}, timeout=0.5).get("/reviews")
        assert_problem(response, 504, "reviews", "0.5s")


class TestDocs:
    @staticmethod
    def check_docs(client: Client, service: str) -> None:
        page = client.get(f"/api/{service}/docs")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        spec = re.search(r'url: "([^"]+)"', html).group(1)
        assert spec == f"/api/{service}/openapi.json"
        paths = client.get(spec).get_json()["paths"]
        assert any(path.lstrip("/").split("/", 1)[0] in registry.ROUTES for path in paths)
        for asset in re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html):
            assert client.get(urljoin(f"/api/{service}/docs", asset)).status_code == 200, asset

    def test_in_process_each_service_s_docs_are_under_its_prefix(self, settings):
        apps = {name: create_app(registry.get(name), settings, migrate=True) for name in ("users", "jobs")}
        client = Client(gateway.in_process(apps))
        for name in apps:
            self.check_docs(client, name)

    def test_over_http_each_service_s_docs_are_under_its_prefix(self, settings, serve):
        client = through({"jobs": serve(create_app(registry.get("jobs"), settings, migrate=True))})
        self.check_docs(client, "jobs")
