"""The saga map: what each saga reacts to is what the service registers, one handler per event."""
from __future__ import annotations

from services.contracts import SERVICE, billing, bonuses, disputes, hourly, refunds, sagas
from shared.suspensions import KIT_STEPS

MAPS = {"hiring": sagas.HIRING, "funding": sagas.FUNDING, "release": sagas.RELEASE, "refund": sagas.REFUND,
        "claims": refunds.CLAIMS, "bonus": bonuses.BONUS, "billing": billing.BILLING}


class TestSagaMap:
    def test_the_service_reacts_to_exactly_the_events_of_its_sagas_and_the_kits(self):
        assert set(SERVICE.handlers) == {type_ for saga in MAPS.values() for type_ in saga} | set(KIT_STEPS)
        assert set(SERVICE.handlers) == {"jobs.hire.requested", "payments.escrow.funded",
                                         "payments.escrow.funding_failed", "payments.escrow.released",
                                         "payments.escrow.refunded", "payments.escrow.split",
                                         "payments.bonus.paid", "payments.bonus.failed", "users.user.suspended",
                                         "users.user.reinstated", "payments.invoice.charged",
                                         "payments.invoice.charge_failed", "payments.invoice.released",
                                         "payments.invoice.split"}

    def test_an_event_two_sagas_share_goes_to_the_one_handler_both_name(self):
        for saga in MAPS.values():
            for type_, handler in saga.items():
                registered = SERVICE.handlers[type_]
                if type_ in KIT_STEPS:  # the kit's step runs first, then this one
                    assert registered.kit_step is KIT_STEPS[type_] and registered.__wrapped__ is handler, type_
                else:
                    assert registered is handler, type_
        assert sagas.HIRING["payments.escrow.funded"] is sagas.FUNDING["payments.escrow.funded"]

    def test_every_timer_kind_names_its_service_aggregate_and_effect(self):
        assert set(SERVICE.timers) == {sagas.OFFER_EXPIRY, sagas.AUTO_APPROVE, sagas.SETTLE, sagas.RESEND_REQUEST,
                                       sagas.RESEND_CANCELLATION, refunds.RESPONSE_DUE, disputes.NO_RESPONSE,
                                       disputes.MEDIATION_OVER, hourly.CLOSE_TIMESHEET, billing.END_REVIEW,
                                       billing.RESEND_REQUEST}
        assert all(kind.split(".")[0] == "contracts" and len(kind.split(".")) == 3 for kind in SERVICE.timers)
