"""What contracts reads from the environment: the fee rates stamped on new contracts, its saga timers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ServiceSettings, env_duration, env_int


@dataclass(frozen=True)
class ContractsSettings(ServiceSettings):
    client_fee_bps: int = 500
    freelancer_fee_bps: int = 1000
    offer_ttl: timedelta = timedelta(days=7)
    auto_approve_after: timedelta = timedelta(days=14)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(
            client_fee_bps=env_int(env, "CLIENT_FEE_BPS", 500, 0, 10000),
            freelancer_fee_bps=env_int(env, "FREELANCER_FEE_BPS", 1000, 0, 10000),
            offer_ttl=env_duration(env, "OFFER_TTL", "7d"),
            auto_approve_after=env_duration(env, "AUTO_APPROVE_AFTER", "14d"),
        )
