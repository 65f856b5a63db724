"""The saga map: what each saga reacts to is what the service registers, one handler per event."""
from __future__ import annotations

from services.contracts import SERVICE, sagas

MAPS = {"hiring": sagas.HIRING, "funding": sagas.FUNDING, "release": sagas.RELEASE, "refund": sagas.REFUND}


class TestSagaMap:
    def test_the_service_reacts_to_exactly_the_events_of_its_sagas(self):
        assert set(SERVICE.handlers) == {type_ for saga in MAPS.values() for type_ in saga}
        assert set(SERVICE.handlers) == {"jobs.hire.requested", "payments.escrow.funded",
                                         "payments.escrow.funding_failed", "payments.escrow.released",
                                         "payments.escrow.refunded", "users.user.suspended"}

    def test_an_event_two_sagas_share_goes_to_the_one_handler_both_name(self):
        for saga in MAPS.values():
            for type_, handler in saga.items():
                assert SERVICE.handlers[type_] is handler, type_
        assert sagas.HIRING["payments.escrow.funded"] is sagas.FUNDING["payments.escrow.funded"]

    def test_every_timer_kind_names_its_service_aggregate_and_effect(self):
        assert set(SERVICE.timers) == {sagas.OFFER_EXPIRY, sagas.AUTO_APPROVE, sagas.SETTLE, sagas.RESEND_REQUEST,
                                       sagas.RESEND_CANCELLATION}
        assert all(kind.split(".")[0] == "contracts" and len(kind.split(".")) == 3 for kind in SERVICE.timers)
