"""What users reads from the environment: the admin account ensured at start, when both are set."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Self

from shared.config import ServiceSettings, env_text


@dataclass(frozen=True)
class UsersSettings(ServiceSettings):
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(admin_email=env_text(env, "ADMIN_EMAIL"),
                   admin_password=env_text(env, "ADMIN_PASSWORD", min_length=10))
