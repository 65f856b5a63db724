"""Who may send an event: the owner of its type, publishing as that owner's broker user (no I/O)."""
from __future__ import annotations

import pytest

from shared.config import ConfigError, Settings
from shared.events import CATALOG, OWNERS, Envelope
from shared.provenance import PUBLISHED_BY, InvalidMapping, Publishers, forgery, published_by

RELEASED = "payments.escrow.released"


def envelope(type_: str = RELEASED, producer: str = "payments") -> Envelope:
    return Envelope(type_, {}, producer, "correlation")


class TestTheCatalogNamesOneOwnerPerType:
    def test_every_type_is_owned_by_the_producer_its_name_begins_with(self):
        assert set(OWNERS) == {type_ for type_, _ in CATALOG}
        assert all(type_.split(".", 1)[0] == owner for type_, owner in OWNERS.items())
        assert OWNERS[RELEASED] == "payments"


class TestPublishers:
    def test_unset_each_producer_publishes_as_the_user_of_its_own_name(self):
        users = Publishers.parse(None)
        assert (users.of("payments"), users.of("contracts")) == ("payments", "contracts")
        assert Publishers.parse("") == Publishers.parse(" , ") == users

    def test_named_producers_and_a_fallback_for_the_rest(self):
        users = Publishers.parse(" payments = pay-prod ,*=shared")
        assert (users.of("payments"), users.of("jobs")) == ("pay-prod", "shared")
        assert Publishers.parse("payments=pay-prod").of("jobs") == "jobs"
        assert Publishers.everyone("guest").of("reviews") == "guest"

    @pytest.mark.parametrize("text, error", [
        ("payments", "'payments' is not producer=user"),
        ("payments=", "'payments=' is not producer=user"),
        ("=guest", "'=guest' is not producer=user"),
        ("payments=a,payments=b", "'payments' is given twice"),
    ])
    def test_a_mapping_that_cannot_be_read_is_refused(self, text, error):
        with pytest.raises(InvalidMapping, match=error):
            Publishers.parse(text)

    def test_settings_read_both_variables_and_name_the_bad_one(self):
        settings = Settings.from_env({"AMQP_PUBLISHERS": "*=guest", "AMQP_REPLAYERS": " operator, ops2 ,"})
        assert settings.publishers == Publishers.everyone("guest")
        assert settings.replayers == {"operator", "ops2"}
        assert Settings.from_env({}).replayers == frozenset()
        with pytest.raises(ConfigError, match="^AMQP_PUBLISHERS: 'payments' is not producer=user"):
            Settings.from_env({"AMQP_PUBLISHERS": "payments"})


class TestForgery:
    users = Publishers.parse(None)

    def test_the_owner_publishing_as_its_own_user_is_believed(self):
        assert forgery(envelope(), "payments", self.users) is None

    def test_a_bus_without_users_checks_ownership_only(self):
        assert forgery(envelope(), None, self.users) is None
        assert forgery(envelope(producer="contracts"), None, self.users) == (
            "forged: payments.escrow.released is payments's event, but its producer says 'contracts'")

    def test_a_type_its_producer_does_not_own_is_forged_whoever_published_it(self):
        assert forgery(envelope(producer="contracts"), "contracts", self.users).startswith(
            "forged: payments.escrow.released is payments's event")

    def test_a_type_nobody_owns_is_forged(self):
        assert forgery(envelope("payments.escrow.stolen"), "payments", self.users) == (
            "forged: no producer owns the event type 'payments.escrow.stolen'")

    def test_another_broker_user_or_none_is_forged(self):
        assert forgery(envelope(), "rogue", self.users) == (
            "forged: payments.escrow.released from payments was published by broker user 'rogue', not by 'payments'")
        assert forgery(envelope(), "", self.users) == (
            "forged: payments.escrow.released from payments was published by a publisher that set no user_id, "
            "not by 'payments'")

    def test_the_expected_user_comes_from_the_mapping(self):
        assert forgery(envelope(), "guest", Publishers.everyone("guest")) is None
        assert forgery(envelope(), "payments", Publishers.everyone("guest")) is not None

    def test_a_hostile_producer_or_user_is_cut_short_in_the_reason(self):
        reason = forgery(envelope(producer="x" * 10_000), "payments", self.users)
        assert reason is not None and len(reason) < 400


class TestPublisher:
    """The broker's `user_id` is the publisher, except on a copy by the consumer itself or a replay user."""

    def test_the_user_id_is_the_publisher(self):
        assert published_by("payments", {}, own_user="contracts") == "payments"
        assert published_by(None, {}, own_user="contracts") == ""

    def test_a_recorded_publisher_is_believed_on_the_consumers_own_copy(self):
        assert published_by("contracts", {PUBLISHED_BY: "payments"}, own_user="contracts") == "payments"
        assert published_by("contracts", {PUBLISHED_BY: b"payments"}, own_user="contracts") == "payments"

    def test_and_on_a_replayers_copy(self):
        assert published_by("operator", {PUBLISHED_BY: "payments"}, "contracts", frozenset({"operator"})) == "payments"

    def test_a_recorded_publisher_is_ignored_on_anyone_elses_message(self):
        assert published_by("rogue", {PUBLISHED_BY: "payments"}, own_user="contracts") == "rogue"
        assert published_by("operator", {PUBLISHED_BY: "payments"}, own_user="contracts") == "operator"
        assert published_by(None, {PUBLISHED_BY: "payments"}, own_user="") == ""

    def test_a_recorded_publisher_that_is_not_text_is_not_believed(self):
        assert published_by("contracts", {PUBLISHED_BY: 42}, own_user="contracts") == "contracts"
