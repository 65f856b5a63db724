"""`marketplace dev` (what `make run` starts): one process, gateway on 8000, data kept under var/."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid

import pytest
import requests

from marketplace.registry import ports
from tests.support import eventually

pytestmark = pytest.mark.slow
PORTS = ports()
GATEWAY = f"http://127.0.0.1:{PORTS['gateway']}"


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


class DevProcess:
    def __init__(self, folder):
        self.folder = folder
        self.env = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "DATABASE_URL")}
        self.env.update(VAR_DIR=str(folder / "var"), MARKETPLACE_SERVICES="users")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        busy = [port for port in PORTS.values() if not port_free(port)]
        assert not busy, f"ports {busy} are taken; stop whatever listens there"
        self.process = subprocess.Popen([sys.executable, "-m", "marketplace.cli", "dev"], cwd=self.folder, env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        eventually(lambda: answers(f"{GATEWAY}/health") or self.process.poll() is not None, timeout=60)
        assert self.process.poll() is None, self.process.stdout.read()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


@pytest.fixture
def dev(tmp_path):
    process = DevProcess(tmp_path)
    yield process
    if process.process and process.process.poll() is None:
        process.process.kill()


class TestEmbeddedMarketplace:
    def test_registers_and_logs_in_through_the_gateway_and_stops_cleanly(self, dev):
        dev.start()
        email = f"dev-{uuid.uuid4().hex[:8]}@example.com"
        registered = requests.post(f"{GATEWAY}/users", json={
            "email": email, "password": "correct horse", "name": "Dev", "roles": ["freelancer"]}, timeout=10)
        assert registered.status_code == 201, registered.text
        token = requests.post(f"{GATEWAY}/auth/token", json={"email": email, "password": "correct horse"}, timeout=10)
        assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
        me = requests.get(f"http://127.0.0.1:{PORTS['users']}/users/me",
                          headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=10)
        assert me.json()["email"] == email
        assert dev.stop() == 0

    def test_data_survives_a_restart(self, dev):
        dev.start()
        email = f"keep-{uuid.uuid4().hex[:8]}@example.com"
        assert requests.post(f"{GATEWAY}/users", json={
            "email": email, "password": "correct horse", "name": "Keep", "roles": ["client"]}, timeout=10).status_code == 201
        assert dev.stop() == 0
        dev.start()
        token = requests.post(f"{GATEWAY}/auth/token", json={"email": email, "password": "correct horse"}, timeout=10)
        assert token.status_code == 200
        assert dev.stop() == 0

    def test_every_service_answers_its_operational_endpoints(self, dev):
        dev.start()
        base = f"http://127.0.0.1:{PORTS['users']}"
        assert requests.get(f"{base}/ready", timeout=10).json()["status"] == "ready"
        assert "http_requests_total" in requests.get(f"{base}/metrics", timeout=10).text
        assert "/users" in requests.get(f"{base}/openapi.json", timeout=10).json()["paths"]
        unknown = requests.get(f"{GATEWAY}/nowhere", timeout=10)
        assert unknown.status_code == 404 and unknown.headers["Content-Type"] == "application/problem+json"
        assert dev.stop() == 0
