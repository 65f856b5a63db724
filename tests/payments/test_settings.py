"""Payments' own settings and collaborators: the payout hold, checked at start; the bank and the card processor."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.payments import SERVICE
from services.payments.bank import SandboxBank
from services.payments.cards import SandboxCards
from services.payments.settings import PaymentsSettings
from shared.config import ConfigError


class TestPaymentsSettings:
    def test_the_payout_hold_is_read(self):
        assert PaymentsSettings.from_env({"PAYOUT_HOLD": "250ms"}).payout_hold == timedelta(milliseconds=250)

    def test_an_empty_environment_gives_the_default(self):
        assert PaymentsSettings.from_env({}) == PaymentsSettings(payout_hold=timedelta(days=5))

    @pytest.mark.parametrize("value", ["0s", "5 days"])
    def test_a_bad_value_is_refused_naming_its_variable(self, value):
        with pytest.raises(ConfigError, match="^PAYOUT_HOLD:"):
            PaymentsSettings.from_env({"PAYOUT_HOLD": value})


class TestCollaborators:
    def test_payments_declares_the_sandbox_bank_and_card_processor(self, harness, settings, make_sqlite_database):
        payments = harness(SERVICE, settings, make_sqlite_database("payments"))

        assert set(payments.runtime.collaborators) == {"bank", "cards"}
        assert isinstance(payments.runtime.collaborators["bank"], SandboxBank)
        assert isinstance(payments.runtime.collaborators["cards"], SandboxCards)

    def test_a_test_gives_its_own_bank(self, harness, settings, make_sqlite_database):
        bank = SandboxBank(delay=(0, 0))
        payments = harness(SERVICE, settings, make_sqlite_database("payments"), collaborators={"bank": bank})

        assert payments.runtime.collaborators["bank"] is bank
        assert isinstance(payments.runtime.collaborators["cards"], SandboxCards)
