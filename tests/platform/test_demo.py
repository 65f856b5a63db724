"""The whole story, as `marketplace demo` tells it, on the embedded default and the real topology."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager

import pytest

from marketplace.registry import NAMES as SERVICES
from shared.db import drop_database, ensure_database, normalize_url
from tests.platform.test_dev import GATEWAY, PORTS, answers, port_free
from tests.support import eventually

pytestmark = pytest.mark.slow
SHORT_TIMERS = {"PAYOUT_HOLD": "2s", "REVIEW_WINDOW": "1h", "LOG_LEVEL": "WARNING"}
STEPS = ("register", "deposit", "post", "propose", "message", "hire", "fund", "accept", "submit", "approve", "release",
         "payout", "review", "room", "notify", "done", "timeline")


def start(argv: list[str], folder, env: dict) -> subprocess.Popen:
    busy = [port for port in PORTS.values() if not port_free(port)]
    assert not busy, f"ports {busy} are taken; stop whatever listens there"
    process = subprocess.Popen([sys.executable, "-m", "marketplace.cli", *argv], cwd=folder, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = [f"http://127.0.0.1:{PORTS[name]}/ready" for name in SERVICES] + [f"{GATEWAY}/health"]
    eventually(lambda: all(answers(url) for url in ready) or process.poll() is not None, timeout=120)
    assert process.poll() is None, process.stdout.read()
    return process


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@contextmanager
def running(argv: list[str], folder, env: dict):
    """`marketplace <argv>` until the block ends, then stopped by SIGINT: it must exit cleanly."""
    process = start(argv, folder, env)
    try:
        yield process
    finally:
        assert stop(process) == 0


def embedded(folder, **extra: str) -> dict:
    """The environment of `marketplace dev`: no server named, everything under the test's folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "DATABASE_URL", "MARKETPLACE_SERVICES")}
    return {**env, **extra, "VAR_DIR": str(folder / "var")}


@contextmanager
def on_the_stack(folder, amqp_url: str, pg_server_url: str, **extra: str):
    """`marketplace stack` (one API and one worker process a service) on databases of its own, dropped
    afterwards; yields its environment."""
    suffix = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MARKETPLACE_SERVICES")}
    env.update(extra, VAR_DIR=str(folder / "var"), AMQP_URL=amqp_url)
    names = {name: f"demo_{name}_{suffix}" for name in SERVICES}
    try:
        for name, database in names.items():
            ensure_database(normalize_url(pg_server_url), database)
            env[f"DATABASE_URL_{name.upper()}"] = f"{pg_server_url.rsplit('/', 1)[0]}/{database}"
        with running(["stack", "--workers", "1", "--api-workers", "1"], folder, env):
            yield env
    finally:
        for database in names.values():
            drop_database(pg_server_url, database)


def tell_the_story(env: dict, folder) -> str:
    told = subprocess.run([sys.executable, "-m", "marketplace.cli", "demo", "--hold-wait", "30"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=240)
    assert told.returncode == 0, told.stdout + told.stderr
    for step in STEPS:
        assert f"] {step}:" in told.stdout, f"step {step!r} missing:\n{told.stdout}"
    assert ", paid" in told.stdout and "skipped" not in told.stdout, told.stdout
    assert "funding -> funded" in told.stdout and "by event payments.escrow.released" in told.stdout, told.stdout
    return told.stdout


class TestTheWholeStory:
    def test_on_the_embedded_default(self, tmp_path):
        env = embedded(tmp_path, **SHORT_TIMERS)
        with running(["dev"], tmp_path, env):
            tell_the_story(env, tmp_path)

    @pytest.mark.amqp
    @pytest.mark.postgres
    def test_on_the_real_topology(self, tmp_path, amqp_url, pg_server_url):
        with on_the_stack(tmp_path, amqp_url, pg_server_url, **SHORT_TIMERS) as env:
            tell_the_story(env, tmp_path)


HOURLY_TIMERS = {"BILLING_PERIOD": "6s", "TIMESHEET_EDIT_WINDOW": "2s", "INVOICE_REVIEW_WINDOW": "2s",
                 "PAYOUT_HOLD": "2s", "LOG_LEVEL": "WARNING"}
HOURLY_STEPS = ("register", "deposit", "post", "propose", "hire", "accept", "log", "timesheet", "invoice",
                "escrow", "release", "balance", "done")


class TestTheHourlyWeek:
    def test_on_the_embedded_default_with_a_compressed_week(self, tmp_path):
        env = embedded(tmp_path, **HOURLY_TIMERS)
        with running(["dev"], tmp_path, env):
            told = subprocess.run([sys.executable, "-m", "marketplace.cli", "demo", "--hourly"], cwd=tmp_path,
                                  env=env, capture_output=True, text=True, timeout=240)
            assert told.returncode == 0, told.stdout + told.stderr
            for step in HOURLY_STEPS:
                assert f"] {step}:" in told.stdout, f"step {step!r} missing:\n{told.stdout}"
            assert "135 min logged, 120 billable (limit 120), $120.00" in told.stdout, told.stdout


ADMIN = {"ADMIN_EMAIL": "mediator@example.com", "ADMIN_PASSWORD": "mediator-secret-1"}
DISPUTE_STEPS = ("register", "deposit", "admin", "post", "propose", "hire", "fund", "accept", "submit",
                 "refund request", "dispute", "respond", "mediate", "agree", "split", "freelancer", "client",
                 "platform", "balance", "ledger", "done", "timeline")


def tell_the_dispute(env: dict, folder) -> str:
    told = subprocess.run([sys.executable, "-m", "marketplace.cli", "demo", "--dispute"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=240)
    assert told.returncode == 0, told.stdout + told.stderr
    for step in DISPUTE_STEPS:
        assert f"] {step}:" in told.stdout, f"step {step!r} missing:\n{told.stdout}"
    # $1,000 with a 10 % freelancer fee and a 5 % client fee ($50 taken at funding), split $700 / $300:
    # the freelancer gets 700 − 70, the client 300 and 50 − 35 of its fee, the platform 70 + 35.
    assert "$700.00 less fee $70.00 = $630.00 pending" in told.stdout, told.stdout
    assert "$300.00 and $15.00 of its fee back = $315.00" in told.stdout, told.stdout
    assert "keeps $105.00 in fees" in told.stdout, told.stdout
    assert "freelancer pending $630.00" in told.stdout and "client available $1,265.00" in told.stdout, told.stdout
    assert "refund_requested" in told.stdout and "disputed" in told.stdout and "-> split" in told.stdout, told.stdout
    assert "by event payments.escrow.split" in told.stdout, told.stdout
    return told.stdout


class TestTheDispute:
    def test_on_the_embedded_default(self, tmp_path):
        env = embedded(tmp_path, **ADMIN, LOG_LEVEL="WARNING")
        with running(["dev"], tmp_path, env):
            tell_the_dispute(env, tmp_path)
            without = {k: v for k, v in env.items() if k not in ADMIN}
            refused = subprocess.run([sys.executable, "-m", "marketplace.cli", "demo", "--dispute"], cwd=tmp_path,
                                     env=without, capture_output=True, text=True, timeout=60)
            assert refused.returncode != 0 and "ADMIN_EMAIL" in refused.stderr, refused.stdout + refused.stderr

    @pytest.mark.amqp
    @pytest.mark.postgres
    def test_on_the_real_topology(self, tmp_path, amqp_url, pg_server_url):
        with on_the_stack(tmp_path, amqp_url, pg_server_url, **ADMIN, LOG_LEVEL="WARNING") as env:
            tell_the_dispute(env, tmp_path)
