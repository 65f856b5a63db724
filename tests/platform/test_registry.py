"""The application's registry: which services there are, their ports and paths, and their databases."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from marketplace import gateway, registry, stack
from marketplace.databases import create_missing
from shared.config import ConfigError, Settings
from shared.db import drop_database, normalize_url

DEFAULT_PORTS = {"gateway": 8000, "users": 8001, "jobs": 8002, "contracts": 8003, "payments": 8004, "reviews": 8005,
                 "messages": 8006}


class TestPorts:
    def test_today_s_ports_are_the_defaults(self):
        assert registry.ports({}) == DEFAULT_PORTS

    def test_each_port_is_a_setting(self):
        chosen = registry.ports({"MARKETPLACE_PORT_GATEWAY": "9100", "MARKETPLACE_PORT_PAYMENTS": "9104"})
        assert chosen == {**DEFAULT_PORTS, "gateway": 9100, "payments": 9104}

    def test_a_port_base_puts_the_gateway_on_it_and_the_services_after_it_in_registry_order(self):
        assert registry.ports({"MARKETPLACE_PORT_USERS": "7001"}, base=9000) == {
            "gateway": 9000, "users": 9001, "jobs": 9002, "contracts": 9003, "payments": 9004, "reviews": 9005,
            "messages": 9006}

    @pytest.mark.parametrize("variable, value", [
        ("MARKETPLACE_PORT_USERS", "eighty"), ("MARKETPLACE_PORT_GATEWAY", "0"), ("MARKETPLACE_PORT_JOBS", "70000"),
        ("MARKETPLACE_PORT_REVIEWS", "8001"), ("MARKETPLACE_PORT_USERS", "\u0668\u0660\u0660\u0661"),
    ])
    def test_a_bad_port_names_its_variable(self, variable, value):
        with pytest.raises(ConfigError, match=variable):
            registry.ports({variable: value})

    def test_a_port_base_too_high_for_every_service_is_refused(self):
        with pytest.raises(ConfigError, match="--port-base"):
            registry.ports({}, base=65535)

    def test_stack_hands_its_ports_to_every_child(self):
        chosen = registry.ports({}, base=9000)
        plan = dict(stack.commands({"users": None, "jobs": None}, 1, 1, chosen))
        assert plan["users-api"][-4:-2] == ["--port", "9001"] and plan["jobs-api"][-4:-2] == ["--port", "9002"]
        assert plan["gateway"][-2:] == ["--port", "9000"]
        assert registry.port_variables(chosen)["MARKETPLACE_PORT_GATEWAY"] == "9000"
        assert registry.port_variables(chosen)["MARKETPLACE_PORT_REVIEWS"] == "9005"

    def test_a_bad_port_stops_the_command_with_one_line(self, tmp_path):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETPLACE_", "DATABASE_URL"))}
        env.update(AMQP_URL="amqp://guest:guest@127.0.0.1:1//", MARKETPLACE_PORT_USERS="soon", VAR_DIR=str(tmp_path))
        result = subprocess.run([sys.executable, "-m", "marketplace.cli", "api", "users"], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and "MARKETPLACE_PORT_USERS" in lines[0], result.stderr


class TestRoutes:
    def test_every_first_path_segment_belongs_to_one_service(self):
        assert registry.ROUTES == {"users": "users", "auth": "users", "jobs": "jobs", "contracts": "contracts",
                                   "payments": "payments", "reviews": "reviews", "rooms": "messages",
                                   "notifications": "messages", "webhooks": "messages"}
        assert gateway.ROUTES is registry.ROUTES

    def test_the_gateway_s_targets_default_to_the_chosen_ports(self, monkeypatch):
        monkeypatch.setenv("GATEWAY_JOBS_URL", "http://jobs-api:8002")
        targets = gateway.targets(registry.ports({}, base=9000))
        assert targets["users"] == "http://127.0.0.1:9001" and targets["jobs"] == "http://jobs-api:8002"
        assert set(targets) == set(registry.NAMES)


class TestSelection:
    def test_every_service_by_default_in_registry_order(self):
        assert registry.selected({}) == registry.NAMES == ("users", "jobs", "contracts", "payments", "reviews",
                                                              "messages")

    def test_marketplace_services_picks_some(self):
        assert registry.selected({"MARKETPLACE_SERVICES": " jobs, users "}) == ("jobs", "users")

    def test_an_unknown_service_names_the_variable(self):
        with pytest.raises(ConfigError, match="MARKETPLACE_SERVICES: billing"):
            registry.selected({"MARKETPLACE_SERVICES": "users,billing"})

    def test_available_finds_each_service_s_package(self):
        assert {name: service.name for name, service in registry.available({}).items()} == {
            name: name for name in registry.NAMES}


class TestDatabases:
    def test_any_service_s_own_database_is_read_without_a_list_of_services(self):
        settings = Settings.from_env({"DATABASE_URL_MESSAGES": "postgresql://m@db/messages", "DATABASE_URL_JOBS": ""})
        assert settings.database_url("messages") == "postgresql://m@db/messages"
        assert settings.database_url("jobs").startswith("sqlite:///")

    def test_the_url_on_a_server_is_only_computed(self):
        # Nothing listens on port 1: computing the URL must not connect, let alone create a database.
        settings = Settings.from_env({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres"})
        assert settings.database_url("users") == "postgresql+psycopg://postgres@127.0.0.1:1/marketplace_users"
        assert settings.server_database("users") == "marketplace_users"
        assert Settings.from_env({}).server_database("users") is None

    @pytest.mark.postgres
    def test_migrate_stack_and_dev_create_what_is_missing(self, pg_server_url):
        name = f"t{uuid.uuid4().hex[:10]}"
        settings = Settings.from_env({"DATABASE_URL": pg_server_url})
        engine = sa.create_engine(normalize_url(pg_server_url), poolclass=sa.pool.NullPool)

        def exists() -> bool:
            with engine.connect() as conn:
                return bool(conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": f"marketplace_{name}"}))

        try:
            settings.database_url(name)
            assert not exists()
            create_missing(settings, [name])
            create_missing(settings, [name])
            assert exists()
        finally:
            engine.dispose()
            drop_database(pg_server_url, f"marketplace_{name}")
