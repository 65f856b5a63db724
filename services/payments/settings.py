"""What payments reads from the environment: how long released money waits before it can be paid out, and how
soon a failed invoice charge is tried again."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ServiceSettings, env_duration


@dataclass(frozen=True)
class PaymentsSettings(ServiceSettings):
    payout_hold: timedelta = timedelta(days=5)
    # A failed invoice charge is tried again this long after each failure (and on each deposit).
    charge_retry_after: timedelta = timedelta(days=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(payout_hold=env_duration(env, "PAYOUT_HOLD", "5d"),
                   charge_retry_after=env_duration(env, "CHARGE_RETRY_AFTER", "1d"))
