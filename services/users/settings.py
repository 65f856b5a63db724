"""What users reads from the environment: the admin account ensured at start, when both are set; how long
failed logins are kept."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ConfigError, ServiceSettings, env_retention, env_text

# Throttling looks back this far; a failed login older than that counts for nothing.
THROTTLE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class UsersSettings(ServiceSettings):
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    # Failed logins older than this are pruned by the worker (throttling needs only the last THROTTLE_WINDOW).
    login_failure_retention: timedelta = timedelta(days=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        retention = env_retention(env, "LOGIN_FAILURE_RETENTION", "1d")
        if retention < THROTTLE_WINDOW:
            raise ConfigError(f"LOGIN_FAILURE_RETENTION: {env.get('LOGIN_FAILURE_RETENTION')!r} is shorter than "
                              f"the {THROTTLE_WINDOW} that login throttling looks back")
        return cls(admin_email=env_text(env, "ADMIN_EMAIL"),
                   admin_password=env_text(env, "ADMIN_PASSWORD", min_length=10),
                   login_failure_retention=retention)
