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
