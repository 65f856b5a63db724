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
    ])
    def test_a_bad_value_is_refused_naming_its_variable(self, name, value):
        with pytest.raises(ConfigError) as raised:
            ContractsSettings.from_env({name: value})

        assert str(raised.value).startswith(f"{name}:")
