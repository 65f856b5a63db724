"""What contracts reads from the environment: the fee rates stamped on new contracts, its saga timers,
and how soon and how often a request payments has not answered is sent again."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ConfigError, ServiceSettings, env_duration, env_int


@dataclass(frozen=True)
class ContractsSettings(ServiceSettings):
    client_fee_bps: int = 500
    freelancer_fee_bps: int = 1000
    offer_ttl: timedelta = timedelta(days=7)
    auto_approve_after: timedelta = timedelta(days=14)
    # How long each side of a claim has to answer before its default applies (DISPUTES.md).
    refund_response_window: timedelta = timedelta(days=7)
    dispute_response_window: timedelta = timedelta(days=5)
    mediation_accept_window: timedelta = timedelta(days=2)
    # An in-flight saga step (a milestone funding, approved or refunding, a contract cancelling, an
    # invoice waiting for payments) unanswered this long is past its deadline: its request is sent
    # again, then after twice as long, and so on up to `saga_resend_max` between re-sends.
    saga_resend_after: timedelta = timedelta(minutes=1)
    saga_resend_max: timedelta = timedelta(hours=1)
    # Hourly contracts: the calendar-anchored period, the edit window after it, the review window
    # after its charge (see timesheets.py).
    billing_period: timedelta = timedelta(days=7)
    timesheet_edit_window: timedelta = timedelta(hours=12)
    invoice_review_window: timedelta = timedelta(hours=108)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(
            client_fee_bps=env_int(env, "CLIENT_FEE_BPS", 500, 0, 10000),
            freelancer_fee_bps=env_int(env, "FREELANCER_FEE_BPS", 1000, 0, 10000),
            offer_ttl=env_duration(env, "OFFER_TTL", "7d"),
            auto_approve_after=env_duration(env, "AUTO_APPROVE_AFTER", "14d"),
            refund_response_window=env_duration(env, "REFUND_RESPONSE_WINDOW", "7d"),
            dispute_response_window=env_duration(env, "DISPUTE_RESPONSE_WINDOW", "5d"),
            mediation_accept_window=env_duration(env, "MEDIATION_ACCEPT_WINDOW", "2d"),
            saga_resend_after=env_duration(env, "SAGA_RESEND_AFTER", "1m"),
            saga_resend_max=env_duration(env, "SAGA_RESEND_MAX", "1h"),
            billing_period=env_duration(env, "BILLING_PERIOD", "7d"),
            timesheet_edit_window=env_duration(env, "TIMESHEET_EDIT_WINDOW", "12h"),
            invoice_review_window=env_duration(env, "INVOICE_REVIEW_WINDOW", "108h"),
        )

    def __post_init__(self):
        if self.saga_resend_max < self.saga_resend_after:
            raise ConfigError(f"SAGA_RESEND_MAX: {self.saga_resend_max} is shorter than SAGA_RESEND_AFTER "
                              f"({self.saga_resend_after})")
        if self.billing_period.total_seconds() != int(self.billing_period.total_seconds()):
            raise ConfigError(f"BILLING_PERIOD: {self.billing_period} is not a whole number of seconds")
        if self.timesheet_edit_window >= self.billing_period:
            raise ConfigError(f"TIMESHEET_EDIT_WINDOW: {self.timesheet_edit_window} is not shorter than "
                              f"BILLING_PERIOD ({self.billing_period})")
