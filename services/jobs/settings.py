"""What jobs reads from the environment: how long a process may answer a job post from memory."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ConfigError, ServiceSettings, env_duration

MAX_JOB_CACHE_TTL = timedelta(minutes=1)


@dataclass(frozen=True)
class JobsSettings(ServiceSettings):
    # `GET /jobs/{id}` is public and hot: a change is seen by every process within this (`off`: never kept).
    job_cache_ttl: timedelta = timedelta(seconds=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        if (env.get("JOB_CACHE_TTL") or "").strip() == "off":
            return cls(job_cache_ttl=timedelta(0))
        ttl = env_duration(env, "JOB_CACHE_TTL", "1s")
        if ttl > MAX_JOB_CACHE_TTL:
            raise ConfigError(f"JOB_CACHE_TTL: {env['JOB_CACHE_TTL']!r} is longer than the maximum of 60s "
                              "(a job's change must be seen soon)")
        return cls(job_cache_ttl=ttl)
