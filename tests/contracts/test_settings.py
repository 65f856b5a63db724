"""Contracts' own settings: the fee rates stamped on new contracts and its saga timers, checked at start."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts.settings import ContractsSettings
from shared.config import ConfigError


class TestContractsSettings:
    def test_durations_and_fees_are_read(self):
        own = ContractsSettings.from_env({"OFFER_TTL": "90s", "AUTO_APPROVE_AFTER": "2h",
                                          "CLIENT_FEE_BPS": "0", "FREELANCER_FEE_BPS": "10000"})

        assert (own.offer_ttl, own.auto_approve_after) == (timedelta(seconds=90), timedelta(hours=2))
        assert (own.client_fee_bps, own.freelancer_fee_bps) == (0, 10000)

    def test_an_empty_environment_gives_the_defaults(self):
        assert ContractsSettings.from_env({}) == ContractsSettings(
            client_fee_bps=500, freelancer_fee_bps=1000,
            offer_ttl=timedelta(days=7), auto_approve_after=timedelta(days=14))

    @pytest.mark.parametrize("name, value", [
        ("OFFER_TTL", "soon"),
        ("OFFER_TTL", "-5s"),
        ("AUTO_APPROVE_AFTER", "14"),
        ("CLIENT_FEE_BPS", "-1"),
        ("CLIENT_FEE_BPS", "5%"),
        ("FREELANCER_FEE_BPS", "-250"),
        ("FREELANCER_FEE_BPS", "10001"),
        ("OFFER_TTL", "3000000d"),
        ("AUTO_APPROVE_AFTER", "3651d"),
        ("SAGA_RESEND_AFTER", "0s"),
        ("SAGA_RESEND_MAX", "10y"),
    ])
    def test_a_bad_value_is_refused_naming_its_variable(self, name, value):
        with pytest.raises(ConfigError) as raised:
            ContractsSettings.from_env({name: value})

        assert str(raised.value).startswith(f"{name}:")

    def test_the_saga_deadlines_are_read_and_the_cap_is_never_below_the_first_wait(self):
        own = ContractsSettings.from_env({"SAGA_RESEND_AFTER": "30s", "SAGA_RESEND_MAX": "2h"})
        assert (own.saga_resend_after, own.saga_resend_max) == (timedelta(seconds=30), timedelta(hours=2))
        assert ContractsSettings.from_env({}).saga_resend_after == timedelta(minutes=1)

        with pytest.raises(ConfigError) as raised:
            ContractsSettings.from_env({"SAGA_RESEND_AFTER": "2h", "SAGA_RESEND_MAX": "1h"})
        assert str(raised.value).startswith("SAGA_RESEND_MAX:")
