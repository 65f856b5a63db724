"""What users reads from the environment: the admin account ensured at start, when both are set; the
cost of its argon2id password hashes (OWASP's recommendation by default: 19 MiB, 2 passes, 1 lane);
how long failed logins are kept."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ConfigError, ServiceSettings, env_int, env_retention, env_text

# Throttling looks back this far; a failed login older than that counts for nothing.
THROTTLE_WINDOW = timedelta(minutes=15)
# OWASP's Password Storage Cheat Sheet: argon2id with at least 19 MiB, 2 iterations, 1 degree of parallelism.
ARGON2_MEMORY_KIB = 19456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1


@dataclass(frozen=True)
class UsersSettings(ServiceSettings):
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    argon2_memory_kib: int = ARGON2_MEMORY_KIB
    argon2_time_cost: int = ARGON2_TIME_COST
    argon2_parallelism: int = ARGON2_PARALLELISM
    # Failed logins older than this are pruned by the worker (throttling needs only the last THROTTLE_WINDOW).
    login_failure_retention: timedelta = timedelta(days=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        parallelism = env_int(env, "ARGON2_PARALLELISM", ARGON2_PARALLELISM, 1, 64)
        memory = env_int(env, "ARGON2_MEMORY_KIB", ARGON2_MEMORY_KIB, 8, 4 * 1024 * 1024)
        if memory < 8 * parallelism:  # argon2 needs 8 KiB a lane
            raise ConfigError(f"ARGON2_MEMORY_KIB: {memory} is less than 8 KiB for each of the "
                              f"{parallelism} lanes of ARGON2_PARALLELISM")
        retention = env_retention(env, "LOGIN_FAILURE_RETENTION", "1d")
        if retention < THROTTLE_WINDOW:
            raise ConfigError(f"LOGIN_FAILURE_RETENTION: {env.get('LOGIN_FAILURE_RETENTION')!r} is shorter than "
                              f"the {THROTTLE_WINDOW} that login throttling looks back")
        return cls(admin_email=env_text(env, "ADMIN_EMAIL"),
                   admin_password=env_text(env, "ADMIN_PASSWORD", min_length=10),
                   argon2_memory_kib=memory,
                   argon2_time_cost=env_int(env, "ARGON2_TIME_COST", ARGON2_TIME_COST, 1, 100),
                   argon2_parallelism=parallelism,
                   login_failure_retention=retention)
