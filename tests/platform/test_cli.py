"""The `marketplace` command: what operators type, and what a bad configuration tells them."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def marketplace(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("AMQP_URL", "DATABASE_URL")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "marketplace.cli", *args], env=environment, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


class TestCommands:
    def test_help_lists_every_operator_command(self):
        shown = marketplace("--help").stdout
        for command in ("api", "worker", "migrate", "topology", "dlq", "create-admin", "stack", "dev", "gateway", "asyncapi",
                        "revision", "sagas"):
            assert command in shown

    @pytest.mark.parametrize("variable, value", [
        ("OFFER_TTL", "7x"), ("CLIENT_FEE_BPS", "-5"), ("PAYOUT_HOLD", "soon"), ("LOG_FORMAT", "xml"),
        ("JWT_PUBLIC_KEY", "not a pem"), ("MARKETPLACE_SERVICES", "users,billing"),
    ])
    def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(self, tmp_path, variable, value):
        result = marketplace("migrate", env={variable: value, "VAR_DIR": str(tmp_path)}, cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and variable in lines[0], result.stderr
        assert "Traceback" not in result.stderr

    # Every duration setting, kit's and services', with a value that parses but cannot be added to now.
    @pytest.mark.parametrize("variable", ["OFFER_TTL", "AUTO_APPROVE_AFTER", "PAYOUT_HOLD", "REVIEW_WINDOW",
                                          "RETRY_DELAYS", "ACCESS_TOKEN_TTL", "SAGA_RESEND_AFTER", "SAGA_RESEND_MAX"])
    def test_a_duration_out_of_range_stops_start_up_with_one_line(self, tmp_path, variable):
        result = marketplace("migrate", env={variable: "3000000d", "VAR_DIR": str(tmp_path)}, cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and variable in lines[0] and "3650d" in lines[0], result.stderr

    @pytest.mark.parametrize("command", [("dev",), ("api", "contracts")])
    def test_dev_and_api_refuse_an_offer_ttl_out_of_range_before_anything_runs(self, tmp_path, command):
        result = marketplace(*command, env={"OFFER_TTL": "3000000d", "VAR_DIR": str(tmp_path)}, cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert lines == [lines[0]] and "OFFER_TTL" in lines[0] and "Traceback" not in result.stderr
        assert not (tmp_path / "contracts.sqlite").exists()  # refused before any database was touched

    def test_sagas_stuck_on_a_fresh_suite_lists_nothing_and_exits_0(self, tmp_path):
        env = {"VAR_DIR": str(tmp_path / "var"), "MARKETPLACE_SERVICES": "contracts"}
        assert marketplace("migrate", env=env, cwd=tmp_path).returncode == 0
        result = marketplace("sagas", "stuck", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[-1] == "0 saga step(s) past their deadline"

    def test_worker_without_a_broker_says_what_to_set(self, tmp_path):
        result = marketplace("worker", "users", env={"VAR_DIR": str(tmp_path)}, cwd=tmp_path)
        assert result.returncode == 2 and "AMQP_URL" in result.stderr

    def test_migrate_then_create_admin_makes_an_account_that_can_log_in(self, tmp_path):
        env = {"VAR_DIR": str(tmp_path / "var"), "MARKETPLACE_SERVICES": "users"}
        assert marketplace("migrate", env=env, cwd=tmp_path).returncode == 0
        made = marketplace("create-admin", "--email", "ops@example.com", "--password", "a-long-secret", env=env, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        assert "a-long-secret" not in made.stdout + made.stderr
        from services.users import create_app
        from shared.config import Settings

        app = create_app(Settings.from_env({"VAR_DIR": str(tmp_path / "var")}))
        login = app.test_client().post("/auth/token", json={"email": "ops@example.com", "password": "a-long-secret"})
        assert login.status_code == 200
