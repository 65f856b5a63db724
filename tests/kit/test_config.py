"""Settings are checked once, at start, and a bad value names the variable that holds it."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from shared.bus.embedded import EmbeddedBus
from shared.config import (MAX_DURATION, ConfigError, ServiceSettings, Settings, env_duration, env_int, env_text,
                           parse_duration)
from shared.runtime import Runtime
from shared.service import Service
from tests.infra import unique


class TestSettingsFromEnvironment:
    def test_durations_and_numbers_are_read(self):
        settings = Settings.from_env({"ACCESS_TOKEN_TTL": "90s", "RETRY_DELAYS": "1s, 2m ,3h",
                                      "AUDIT_MAX_LENGTH": "500"})

        assert settings.access_token_ttl == timedelta(seconds=90)
        assert settings.retry_delays == (timedelta(seconds=1), timedelta(minutes=2), timedelta(hours=3))
        assert settings.audit_max_length == 500

    def test_the_database_pool_is_read_and_blanks_are_the_defaults(self):
        settings = Settings.from_env({"DB_POOL_SIZE": " 3 ", "DB_MAX_OVERFLOW": "0"})
        assert (settings.db_pool_size, settings.db_max_overflow) == (3, 0)
        assert Settings.from_env({"DB_POOL_SIZE": "  "}).db_pool_size == 10

    def test_the_consumer_batch_is_read_and_one_turns_batches_off(self):
        assert Settings.from_env({}).consumer_batch == 20
        assert Settings.from_env({"CONSUMER_BATCH": "1"}).consumer_batch == 1
        assert Settings.from_env({"CONSUMER_BATCH": " 100 "}).consumer_batch == 100

    def test_an_empty_environment_gives_the_defaults(self):
        settings = Settings.from_env({})

        assert settings == Settings()
        assert settings.embedded

    @pytest.mark.parametrize("name, value", [
        ("ACCESS_TOKEN_TTL", "1y"),
        ("RETRY_DELAYS", "1s,,10s"),
        ("RETRY_DELAYS", "1s,ten"),
        ("AUDIT_MAX_LENGTH", "0"),
        ("AUDIT_MAX_LENGTH", "many"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
        ("JWT_PRIVATE_KEY", "not a key"),
        ("AUDIT_MAX_LENGTH", "\u0663"),  # ARABIC-INDIC DIGIT THREE: int() would read it as 3
        ("AUDIT_MAX_LENGTH", "1_000"),
        ("AUDIT_MAX_LENGTH", "9" * 5000),  # more digits than Python reads as a number
        ("ACCESS_TOKEN_TTL", "\u0663s"),
        ("ACCESS_TOKEN_TTL", "\uff13s"),  # FULLWIDTH DIGIT THREE
        ("DB_POOL_SIZE", "0"),
        ("DB_MAX_OVERFLOW", "-1"),
        ("CONSUMER_BATCH", "0"),
        ("CONSUMER_BATCH", "101"),
        ("CONSUMER_BATCH", "\u0662"),
    ])
    def test_a_bad_value_is_refused_naming_its_variable(self, name, value):
        with pytest.raises(ConfigError) as raised:
            Settings.from_env({name: value})

        assert str(raised.value).startswith(f"{name}:")

    @pytest.mark.parametrize("name, value", [
        ("ACCESS_TOKEN_TTL", "3000000d"),
        ("ACCESS_TOKEN_TTL", "3651d"),
        ("ACCESS_TOKEN_TTL", "9" * 400 + "s"),  # reads as infinity: no timedelta holds it
        ("RETRY_DELAYS", "1s,100000000000000000000ms"),
        ("RETRY_DELAYS", "1s,99999999999h"),
    ])
    def test_a_duration_that_cannot_be_added_to_now_is_refused_naming_its_variable(self, name, value):
        with pytest.raises(ConfigError) as raised:
            Settings.from_env({name: value})

        assert str(raised.value).startswith(f"{name}:") and "3650d" in str(raised.value)

    def test_the_longest_duration_allowed_is_ten_years_and_it_can_be_added_to_now(self):
        longest = parse_duration("3650d", "X")

        assert longest == MAX_DURATION == timedelta(days=3650)
        assert datetime.now(timezone.utc) + longest > datetime.now(timezone.utc)
        assert parse_duration("87600h", "X") == longest

    def test_the_services_variables_are_not_the_kits(self):
        assert Settings.from_env({"OFFER_TTL": "soon", "PAYOUT_HOLD": "0s", "ADMIN_PASSWORD": "short"}) == Settings()


@dataclass(frozen=True)
class ToySettings(ServiceSettings):
    """A service's own settings, read with the kit's parsers."""
    patience: timedelta = timedelta(days=7)
    tries: int = 3
    motto: str | None = None

    @classmethod
    def from_env(cls, env):
        return cls(patience=env_duration(env, "TOY_PATIENCE", "7d"), tries=env_int(env, "TOY_TRIES", 3, 1, 10),
                   motto=env_text(env, "TOY_MOTTO", min_length=4))


class TestServiceSettings:
    """A service reads its own variables with the kit's parsers; its runtime reads them once, at start."""

    def test_its_variables_are_read(self):
        toy = ToySettings.from_env({"TOY_PATIENCE": "250ms", "TOY_TRIES": "10", "TOY_MOTTO": "onward"})

        assert toy == ToySettings(patience=timedelta(milliseconds=250), tries=10, motto="onward")
        assert ToySettings.from_env({}) == ToySettings()

    @pytest.mark.parametrize("name, value", [
        ("TOY_PATIENCE", "soon"), ("TOY_PATIENCE", "0s"), ("TOY_TRIES", "11"), ("TOY_TRIES", "3.5"),
        ("TOY_MOTTO", "hm"),
    ])
    def test_a_bad_value_is_refused_naming_its_variable(self, name, value):
        with pytest.raises(ConfigError) as raised:
            ToySettings.from_env({name: value})

        assert str(raised.value).startswith(f"{name}:")

    def test_a_runtime_reads_them_at_start_and_refuses_a_bad_value(self, monkeypatch, settings, no_migrations):
        monkeypatch.setenv("TOY_PATIENCE", "soon")

        with pytest.raises(ConfigError, match="^TOY_PATIENCE:"):
            Runtime(toy_service(no_migrations), settings)

    def test_the_unit_of_work_carries_the_services_own_settings(self, monkeypatch, settings, make_sqlite_database,
                                                                 no_migrations):
        monkeypatch.setenv("TOY_TRIES", "5")
        runtime = Runtime(toy_service(no_migrations), settings, database=make_sqlite_database("toy"), bus=EmbeddedBus())
        try:
            with runtime.unit_of_work() as uow:
                assert uow.settings == ToySettings(tries=5)
                assert uow.runtime.settings is settings
        finally:
            runtime.close()

    def test_given_settings_win_over_the_environment(self, monkeypatch, settings, make_sqlite_database, no_migrations):
        monkeypatch.setenv("TOY_TRIES", "not a number")
        runtime = Runtime(toy_service(no_migrations), settings, database=make_sqlite_database("toy"), bus=EmbeddedBus(),
                          service_settings=ToySettings(tries=2))
        try:
            assert runtime.service_settings.tries == 2
        finally:
            runtime.close()


class TestDatabasePool:
    """DB_POOL_SIZE connections stay open, DB_MAX_OVERFLOW more open while they are all taken; no more."""

    def test_a_runtime_opens_no_more_connections_than_its_settings_allow(self, settings, make_pg_database,
                                                                         no_migrations):
        made = make_pg_database("pool")
        service = toy_service(no_migrations)
        bounded = settings.replace(db_pool_size=2, db_max_overflow=1,
                                   database_urls={service.name: made.url.render_as_string(hide_password=False)})
        runtime = Runtime(service, bounded, bus=EmbeddedBus())
        held = [runtime.db.engine.connect() for _ in range(3)]
        fourth: list = []
        waiting = threading.Thread(target=lambda: fourth.append(runtime.db.engine.connect()), daemon=True)
        try:
            waiting.start()
            waiting.join(1)
            assert waiting.is_alive() and not fourth, "a fourth connection opened past 2 + 1"

            held.pop().close()

            waiting.join(30)
            assert len(fourth) == 1 and runtime.db.engine.pool.size() == 2
        finally:
            for connection in held + fourth:
                connection.close()
            runtime.close()


class TestCollaborators:
    """A service declares what it talks to outside; a runtime builds the defaults or takes replacements."""

    def test_the_declared_defaults_are_built_from_the_services_settings(self, settings, make_sqlite_database,
                                                                        no_migrations):
        runtime = Runtime(toy_service(no_migrations), settings, database=make_sqlite_database("toy"), bus=EmbeddedBus(),
                          service_settings=ToySettings(motto="onward"))
        try:
            assert runtime.collaborators == {"printer": ("printer", "onward")}
        finally:
            runtime.close()

    def test_one_is_replaced_by_name_and_an_unknown_name_is_refused(self, settings, make_sqlite_database,
                                                                    no_migrations):
        replacement = object()
        runtime = Runtime(toy_service(no_migrations), settings, database=make_sqlite_database("toy"), bus=EmbeddedBus(),
                          collaborators={"printer": replacement})
        try:
            assert runtime.collaborators["printer"] is replacement
        finally:
            runtime.close()
        with pytest.raises(ValueError, match="no collaborator scanner"):
            Runtime(toy_service(no_migrations), settings, collaborators={"scanner": object()})


def toy_service(migrations) -> Service:
    return Service(name=unique("toy"), metadata=sa.MetaData(), migrations=migrations, settings=ToySettings,
                   collaborators={"printer": lambda own: ("printer", own.motto)})
