"""What payments reads from the environment: how long released money waits before it can be paid out, how
soon a failed invoice charge is tried again, and how often its processes check the books for the
`ledger_check_failures` gauge."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ServiceSettings, env_duration


@dataclass(frozen=True)
class PaymentsSettings(ServiceSettings):
    payout_hold: timedelta = timedelta(days=5)
    ledger_check_every: timedelta = timedelta(minutes=1)
    # A failed invoice charge is tried again this long after each failure (and on each deposit).
    charge_retry_after: timedelta = timedelta(days=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(payout_hold=env_duration(env, "PAYOUT_HOLD", "5d"),
                   ledger_check_every=env_duration(env, "LEDGER_CHECK_EVERY", "1m"),
                   charge_retry_after=env_duration(env, "CHARGE_RETRY_AFTER", "1d"))
