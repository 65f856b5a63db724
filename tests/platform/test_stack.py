"""`marketplace stack`: each service's API under gunicorn, its worker and the gateway, as processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest
import requests

from shared.db import drop_database
from tests.platform.test_dev import GATEWAY, PORTS, answers, port_free
from tests.support import eventually

pytestmark = [pytest.mark.slow, pytest.mark.amqp, pytest.mark.postgres]


@pytest.fixture
def stack(tmp_path, amqp_url, pg_server_url):
    suffix = uuid.uuid4().hex[:8]
    env = {**os.environ, "AMQP_URL": amqp_url, "VAR_DIR": str(tmp_path / "var"), "MARKETPLACE_SERVICES": "users",
           "DATABASE_URL_USERS": f"{pg_server_url.rsplit('/', 1)[0]}/stack_users_{suffix}"}
    from shared.db import ensure_database, normalize_url

    ensure_database(normalize_url(pg_server_url), f"stack_users_{suffix}")
    busy = [port for port in PORTS.values() if not port_free(port)]
    assert not busy, f"ports {busy} are taken; stop whatever listens there"
    process = subprocess.Popen([sys.executable, "-m", "marketplace.cli", "stack", "--workers", "2", "--api-workers", "1"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    drop_database(pg_server_url, f"stack_users_{suffix}")


class TestStack:
    def test_serves_the_api_through_the_gateway_and_stops_on_ctrl_c(self, stack):
        eventually(lambda: answers(f"http://127.0.0.1:{PORTS['users']}/ready") and answers(f"{GATEWAY}/health")
                   or stack.poll() is not None, timeout=90)
        assert stack.poll() is None, stack.stdout.read()
        email = f"stack-{uuid.uuid4().hex[:8]}@example.com"
        made = requests.post(f"{GATEWAY}/users", json={
            "email": email, "password": "correct horse", "name": "Stack", "roles": ["client"]}, timeout=10)
        assert made.status_code == 201, made.text
        token = requests.post(f"{GATEWAY}/auth/token", json={"email": email, "password": "correct horse"}, timeout=10)
        assert token.status_code == 200
        me = requests.get(f"{GATEWAY}/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                          timeout=10)
        assert me.json()["email"] == email
        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=60) == 0

    def test_exits_non_zero_when_a_child_dies(self, stack):
        eventually(lambda: answers(f"http://127.0.0.1:{PORTS['users']}/ready") or stack.poll() is not None, timeout=90)
        worker = subprocess.run(["pgrep", "-P", str(stack.pid), "-f", "marketplace.cli worker users"],
                                capture_output=True, text=True)
        pids = [int(pid) for pid in worker.stdout.split()]
        assert pids, "no worker process found"
        os.kill(pids[0], signal.SIGKILL)
        assert stack.wait(timeout=60) != 0
