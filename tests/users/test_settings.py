"""Users' own settings: the operator's admin account, checked at start."""
from __future__ import annotations

import pytest

from services.users.settings import UsersSettings
from shared.config import ConfigError


class TestUsersSettings:
    def test_the_admin_is_read_and_its_password_is_never_shown(self):
        own = UsersSettings.from_env({"ADMIN_EMAIL": "ops@example.com", "ADMIN_PASSWORD": "long enough secret"})

        assert (own.admin_email, own.admin_password) == ("ops@example.com", "long enough secret")
        assert "long enough secret" not in repr(own)

    def test_an_empty_environment_gives_no_admin(self):
        assert UsersSettings.from_env({"ADMIN_EMAIL": "", "ADMIN_PASSWORD": ""}) == UsersSettings(
            admin_email=None, admin_password=None)

    def test_a_short_password_is_refused_naming_its_variable(self):
        with pytest.raises(ConfigError, match="^ADMIN_PASSWORD:"):
            UsersSettings.from_env({"ADMIN_PASSWORD": "short"})


class TestArgon2Parameters:
    def test_owasps_recommendation_is_the_default(self):
        own = UsersSettings.from_env({})

        assert (own.argon2_memory_kib, own.argon2_time_cost, own.argon2_parallelism) == (19456, 2, 1)

    def test_the_parameters_are_read(self):
        own = UsersSettings.from_env({"ARGON2_MEMORY_KIB": "65536", "ARGON2_TIME_COST": "3",
                                      "ARGON2_PARALLELISM": "4"})

        assert (own.argon2_memory_kib, own.argon2_time_cost, own.argon2_parallelism) == (65536, 3, 4)

    @pytest.mark.parametrize("name, value", [
        ("ARGON2_MEMORY_KIB", "lots"), ("ARGON2_MEMORY_KIB", "4"), ("ARGON2_MEMORY_KIB", "99999999999"),
        ("ARGON2_TIME_COST", "0"), ("ARGON2_TIME_COST", "two"), ("ARGON2_PARALLELISM", "0"),
        ("ARGON2_PARALLELISM", "1000"),
    ])
    def test_a_bad_value_is_one_line_naming_its_variable(self, name, value):
        with pytest.raises(ConfigError, match=f"^{name}:") as raised:
            UsersSettings.from_env({name: value})
        assert "\n" not in str(raised.value)

    def test_too_little_memory_for_the_lanes_is_refused(self):
        with pytest.raises(ConfigError, match="^ARGON2_MEMORY_KIB:.*ARGON2_PARALLELISM"):
            UsersSettings.from_env({"ARGON2_MEMORY_KIB": "16", "ARGON2_PARALLELISM": "4"})
