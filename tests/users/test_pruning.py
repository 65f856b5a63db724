"""Users' failed logins do not pile up: the worker prunes them after LOGIN_FAILURE_RETENTION."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.users import accounts, settings as users_settings
from services.users.models import LoginFailure
from services.users.settings import UsersSettings
from shared.config import ConfigError
from shared.db import utcnow
from shared.worker import Worker


def failures(runtime) -> list[str]:
    with runtime.db.transaction() as session:
        return sorted(session.scalars(sa.select(LoginFailure.email_key)))


class TestLoginFailurePruning:
    def test_old_failures_go_and_recent_ones_stay(self, any_users):
        runtime = any_users.runtime
        with runtime.db.transaction() as session:
            for number in range(3):
                session.add(LoginFailure(email_key=f"old{number}@example.com", at=utcnow() - timedelta(days=2)))
            session.add(LoginFailure(email_key="recent@example.com", at=utcnow() - timedelta(hours=1)))

        counts = Worker(runtime).prune()

        assert counts["login_failures"] == 3
        assert failures(runtime) == ["recent@example.com"]

    def test_the_retention_is_the_services_setting(self, harness, settings, make_sqlite_database, fast_hashing):
        from services.users import SERVICE

        users = harness(SERVICE, settings, make_sqlite_database("users"),
                        service_settings=UsersSettings(login_failure_retention=timedelta(minutes=30)))
        with users.runtime.db.transaction() as session:
            session.add(LoginFailure(email_key="old@example.com", at=utcnow() - timedelta(hours=1)))
            session.add(LoginFailure(email_key="recent@example.com", at=utcnow() - timedelta(minutes=10)))

        assert Worker(users.runtime).prune()["login_failures"] == 1
        assert failures(users.runtime) == ["recent@example.com"]


class TestLoginFailureRetentionSetting:
    def test_it_defaults_to_a_day_and_is_read(self):
        assert UsersSettings.from_env({}).login_failure_retention == timedelta(days=1)
        assert UsersSettings.from_env({"LOGIN_FAILURE_RETENTION": "2h"}).login_failure_retention == timedelta(hours=2)

    @pytest.mark.parametrize("value", ["10m", "forever", "3000000d"])
    def test_one_shorter_than_the_throttle_window_or_out_of_range_is_refused(self, value):
        with pytest.raises(ConfigError, match="^LOGIN_FAILURE_RETENTION:"):
            UsersSettings.from_env({"LOGIN_FAILURE_RETENTION": value})

    def test_it_knows_the_window_throttling_looks_back(self):
        assert users_settings.THROTTLE_WINDOW == accounts.THROTTLE_WINDOW
