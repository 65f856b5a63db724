"""What payments reads from the environment: how long released money waits before it can be paid out."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ServiceSettings, env_duration


@dataclass(frozen=True)
class PaymentsSettings(ServiceSettings):
    payout_hold: timedelta = timedelta(days=5)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(payout_hold=env_duration(env, "PAYOUT_HOLD", "5d"))
