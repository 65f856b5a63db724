"""Settings are checked once, at start, and a bad value names the variable that holds it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import ConfigError, Settings


class TestSettingsFromEnvironment:
    def test_durations_and_fees_are_read(self):
        settings = Settings.from_env({"OFFER_TTL": "90s", "PAYOUT_HOLD": "250ms", "RETRY_DELAYS": "1s, 2m ,3h",
                                      "CLIENT_FEE_BPS": "0", "FREELANCER_FEE_BPS": "10000"})

        assert settings.offer_ttl == timedelta(seconds=90)
        assert settings.payout_hold == timedelta(milliseconds=250)
        assert settings.retry_delays == (timedelta(seconds=1), timedelta(minutes=2), timedelta(hours=3))
        assert (settings.client_fee_bps, settings.freelancer_fee_bps) == (0, 10000)

    def test_an_empty_environment_gives_the_defaults(self):
        settings = Settings.from_env({})

        assert settings == Settings()
        assert settings.embedded

    @pytest.mark.parametrize("name, value", [
        ("OFFER_TTL", "soon"),
        ("OFFER_TTL", "-5s"),
        ("AUTO_APPROVE_AFTER", "14"),
        ("PAYOUT_HOLD", "0s"),
        ("REVIEW_WINDOW", "2 weeks"),
        ("ACCESS_TOKEN_TTL", "1y"),
        ("RETRY_DELAYS", "1s,,10s"),
        ("RETRY_DELAYS", "1s,ten"),
        ("CLIENT_FEE_BPS", "-1"),
        ("CLIENT_FEE_BPS", "5%"),
        ("FREELANCER_FEE_BPS", "-250"),
        ("FREELANCER_FEE_BPS", "10001"),
        ("AUDIT_MAX_LENGTH", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
        ("ADMIN_PASSWORD", "short"),
        ("JWT_PRIVATE_KEY", "not a key"),
    ])
    def test_a_bad_value_is_refused_naming_its_variable(self, name, value):
        with pytest.raises(ConfigError) as raised:
            Settings.from_env({name: value})

        assert str(raised.value).startswith(f"{name}:")
