"""The contracts sagas step by step: what each step changes, emits and schedules, and the moves it refuses."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts import SERVICE, sagas
from services.contracts.models import Contract
from shared.db import utcnow
from shared.errors import Conflict, IllegalTransition, NotReady
from shared.events.fields import format_timestamp
from tests.unit.conftest import SETTINGS
from tests.unit.fakes import delivered, new_id

SETTING = SETTINGS["contracts"]


@pytest.fixture
def uow(make_uow):
    return make_uow(SERVICE)


def hire_request(*amounts: int) -> dict:
    """The data of `jobs.hire.requested`, one milestone per amount."""
    return {"contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(), "client_id": new_id(),
            "freelancer_id": new_id(), "title": "Build the shop",
            "milestones": [{"milestone_id": new_id(), "title": f"Part {n}", "amount": amount, "due_date": None}
                           for n, amount in enumerate(amounts or (10_000,), start=1)]}


def pending(uow, *amounts: int) -> Contract:
    return sagas.create_contract(uow, hire_request(*amounts))


def offered(uow, *amounts: int) -> Contract:
    contract = pending(uow, *amounts)
    sagas.record_funding(uow, contract, contract.milestones[0])
    return contract


def active(uow, *amounts: int) -> Contract:
    contract = offered(uow, *amounts)
    sagas.accept(uow, contract)
    uow.forget()
    return contract


def submitted(uow, *amounts: int) -> Contract:
    contract = active(uow, *amounts)
    sagas.submit(uow, contract, contract.milestones[0], "Done")
    uow.forget()
    return contract


class TestCreateContract:
    def test_a_hire_makes_a_contract_pending_funding_and_asks_for_the_first_escrow(self, uow):
        hire = hire_request(10_000, 5_000)

        contract = sagas.create_contract(uow, hire)

        assert contract.status == "pending_funding"
        assert [m.status for m in contract.milestones] == ["funding", "pending"]
        assert uow.types() == ["contracts.contract.created", "contracts.milestone.funding_requested"]
        created = uow.event("contracts.contract.created")
        assert created["total_amount"] == 15_000
        assert (created["client_fee_bps"], created["freelancer_fee_bps"]) == (SETTING.client_fee_bps,
                                                                               SETTING.freelancer_fee_bps)
        funding = uow.event("contracts.milestone.funding_requested")
        assert funding == {"contract_id": hire["contract_id"], "milestone_id": hire["milestones"][0]["milestone_id"],
                           "client_id": hire["client_id"], "freelancer_id": hire["freelancer_id"], "amount": 10_000,
                           "client_fee_bps": SETTING.client_fee_bps}

    def test_every_event_of_the_saga_carries_the_contract_id_as_correlation(self, uow):
        contract = pending(uow)

        assert {envelope.correlation_id for envelope in uow.emitted} == {contract.id}

    def test_the_same_hire_delivered_twice_makes_one_contract(self, uow):
        hire = hire_request()
        sagas.create_contract(uow, hire)
        uow.forget()

        assert sagas.create_contract(uow, hire) is None
        assert uow.emitted == []


class TestRecordFunding:
    def test_the_first_escrow_makes_the_offer_which_expires_after_the_offer_ttl(self, uow):
        contract = pending(uow)
        uow.forget()
        before = utcnow()

        sagas.record_funding(uow, contract, contract.milestones[0])

        assert contract.status == "offered"
        assert contract.milestones[0].status == "funded"
        assert before + SETTING.offer_ttl <= contract.offer_expires_at <= utcnow() + SETTING.offer_ttl
        timer = uow.timer(sagas.OFFER_EXPIRY, contract.id)
        assert timer.due_at == contract.offer_expires_at
        assert timer.payload == {"contract_id": contract.id, "correlation_id": contract.id}
        assert uow.types() == ["contracts.contract.offered"]
        assert uow.event("contracts.contract.offered")["offer_expires_at"] == format_timestamp(contract.offer_expires_at)

    def test_a_repeated_answer_changes_nothing(self, uow):
        contract = offered(uow)
        uow.forget()

        sagas.record_funding(uow, contract, contract.milestones[0])

        assert contract.status == "offered"
        assert uow.emitted == [] and uow.scheduled == []

    def test_a_failed_first_funding_cancels_the_contract_at_once(self, uow):
        contract = pending(uow, 10_000, 5_000)
        uow.forget()

        sagas.record_funding_failure(uow, contract, contract.milestones[0], "insufficient_funds")

        assert contract.status == "cancelled"
        assert contract.end_reason == "funding_failed"
        assert [m.status for m in contract.milestones] == ["cancelled", "cancelled"]
        assert contract.milestones[0].last_error == "insufficient_funds"
        cancelled = uow.event("contracts.contract.cancelled")
        assert (cancelled["end_reason"], cancelled["released_amount"]) == ("funding_failed", 0)

    def test_a_failed_later_funding_leaves_the_milestone_pending_to_try_again(self, uow):
        contract = active(uow, 10_000, 5_000)
        later = contract.milestones[1]
        sagas.fund(uow, contract, later)
        uow.forget()

        sagas.record_funding_failure(uow, contract, later, "insufficient_funds")

        assert (later.status, later.last_error) == ("pending", "insufficient_funds")
        assert contract.status == "active"
        assert uow.emitted == []

    def test_money_reaching_a_milestone_that_already_ended_goes_straight_back(self, uow):
        contract = active(uow, 10_000, 5_000)
        late = contract.milestones[1]
        sagas.fund(uow, contract, late)
        sagas.cancel(uow, contract, contract.client_id, None)
        sagas.record_funding_failure(uow, contract, late, "insufficient_funds")
        assert (late.status, contract.status) == ("cancelled", "cancelling")
        uow.forget()

        sagas.record_funding(uow, contract, late)

        assert late.status == "refunding"
        assert uow.event("contracts.milestone.refund_requested")["milestone_id"] == late.id


class TestFundLaterMilestones:
    def test_a_client_funds_a_further_milestone_of_an_active_contract(self, uow):
        contract = active(uow)
        milestone = sagas.add_milestone(uow, contract, title="More", amount=2_500, due_date=None)

        sagas.fund(uow, contract, milestone)

        assert milestone.status == "funding"
        assert uow.event("contracts.milestone.funding_requested")["amount"] == 2_500

    def test_milestones_are_added_only_while_the_contract_is_active(self, uow):
        contract = offered(uow)

        with pytest.raises(Conflict):
            sagas.add_milestone(uow, contract, title="More", amount=2_500, due_date=None)


class TestAcceptOffer:
    def test_the_freelancer_accepts_and_the_offer_no_longer_expires(self, uow):
        contract = offered(uow)
        uow.forget()

        sagas.accept(uow, contract)

        assert contract.status == "active"
        assert contract.activated_at is not None
        assert (sagas.OFFER_EXPIRY, contract.id) in uow.cancelled
        assert uow.timer(sagas.OFFER_EXPIRY, contract.id) is None
        assert uow.event("contracts.contract.activated") == contract.parties

    def test_an_offer_past_its_expiry_cannot_be_accepted(self, uow):
        contract = offered(uow)
        contract.offer_expires_at = utcnow() - timedelta(seconds=1)

        with pytest.raises(Conflict, match="expired"):
            sagas.accept(uow, contract)
        assert contract.status == "offered"

    def test_a_contract_still_waiting_for_its_escrow_cannot_be_accepted(self, uow):
        contract = pending(uow)

        with pytest.raises(IllegalTransition) as raised:
            sagas.accept(uow, contract)
        assert (raised.value.extra["state"], raised.value.extra["target"]) == ("pending_funding", "active")

    def test_declining_the_offer_gives_the_escrow_back(self, uow):
        contract = offered(uow)
        uow.forget()

        sagas.decline(uow, contract, "Too busy")

        assert (contract.status, contract.end_reason, contract.end_note) == ("cancelling", "declined", "Too busy")
        assert contract.milestones[0].status == "refunding"
        assert uow.types() == ["contracts.milestone.refund_requested"]

    def test_only_an_offered_contract_can_be_declined(self, uow):
        contract = active(uow)

        with pytest.raises(Conflict):
            sagas.decline(uow, contract, None)


class TestOfferExpiry:
    def test_an_offer_nobody_answered_ends_as_expired_when_its_timer_fires(self, uow):
        contract = offered(uow)
        contract.offer_expires_at = utcnow() - timedelta(seconds=1)
        uow.forget()

        uow.fire(sagas.OFFER_EXPIRY, contract.id, SERVICE.timers)

        assert (contract.status, contract.end_reason) == ("cancelling", "expired")
        assert uow.types() == ["contracts.milestone.refund_requested"]

    def test_an_early_timer_leaves_the_offer_open(self, uow):
        contract = offered(uow)
        uow.forget()

        sagas.expire_offer(uow, contract)

        assert contract.status == "offered"
        assert uow.emitted == []


class TestRelease:
    def test_submitted_work_is_approved_by_itself_after_auto_approve_after(self, uow):
        contract = active(uow)
        milestone = contract.milestones[0]

        sagas.submit(uow, contract, milestone, "Here it is")

        assert milestone.status == "submitted"
        assert milestone.auto_approve_at == milestone.submitted_at + SETTING.auto_approve_after
        timer = uow.timer(sagas.AUTO_APPROVE, milestone.id)
        assert timer.due_at == milestone.auto_approve_at
        assert timer.payload["milestone_id"] == milestone.id
        assert uow.event("contracts.milestone.submitted")["milestone_id"] == milestone.id

    def test_work_is_submitted_only_on_an_active_contract(self, uow):
        contract = offered(uow)

        with pytest.raises(Conflict):
            sagas.submit(uow, contract, contract.milestones[0], "Early")

    def test_asking_for_changes_stops_the_auto_approval(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]

        sagas.request_changes(uow, contract, milestone, "Not yet")

        assert (milestone.status, milestone.auto_approve_at) == ("changes_requested", None)
        assert uow.timer(sagas.AUTO_APPROVE, milestone.id) is None
        assert uow.emitted == []

    def test_work_handed_in_again_is_approved_by_itself_again(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]
        sagas.request_changes(uow, contract, milestone, "Not yet")

        sagas.submit(uow, contract, milestone, "Now")

        assert milestone.status == "submitted"
        assert uow.timer(sagas.AUTO_APPROVE, milestone.id).due_at == milestone.auto_approve_at

    def test_the_client_approves_and_payments_is_asked_to_release(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]

        sagas.approve(uow, contract, milestone)

        assert milestone.status == "approved"
        assert (sagas.AUTO_APPROVE, milestone.id) in uow.cancelled
        approved = uow.event("contracts.milestone.approved")
        assert (approved["amount"], approved["freelancer_fee_bps"], approved["auto"]) == (
            10_000, SETTING.freelancer_fee_bps, False)

    def test_the_auto_approve_timer_approves_work_still_submitted_at_its_time(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]
        milestone.auto_approve_at = utcnow() - timedelta(seconds=1)

        uow.fire(sagas.AUTO_APPROVE, milestone.id, SERVICE.timers)

        assert milestone.status == "approved"
        assert uow.event("contracts.milestone.approved")["auto"] is True

    def test_an_early_auto_approve_timer_does_nothing(self, uow):
        contract = submitted(uow)

        sagas.auto_approve(uow, contract, contract.milestones[0])

        assert contract.milestones[0].status == "submitted"
        assert uow.emitted == []

    def test_work_never_submitted_cannot_be_approved(self, uow):
        contract = active(uow)

        with pytest.raises(IllegalTransition):
            sagas.approve(uow, contract, contract.milestones[0])

    def test_the_last_release_completes_the_contract(self, uow):
        contract = submitted(uow, 10_000, 5_000)
        first, last = contract.milestones
        sagas.approve(uow, contract, first)
        sagas.record_release(uow, contract, first)
        assert contract.status == "active"
        sagas.fund(uow, contract, last)
        sagas.record_funding(uow, contract, last)
        sagas.submit(uow, contract, last, "Rest")
        sagas.approve(uow, contract, last)
        uow.forget()

        sagas.record_release(uow, contract, last)

        assert contract.status == "completed"
        assert contract.released_amount == 15_000
        assert contract.ended_at is not None
        completed = uow.event("contracts.contract.completed")
        assert completed["released_amount"] == 15_000

    def test_a_repeated_release_counts_the_money_once(self, uow):
        contract = submitted(uow, 10_000, 5_000)
        milestone = contract.milestones[0]
        sagas.approve(uow, contract, milestone)
        sagas.record_release(uow, contract, milestone)

        sagas.record_release(uow, contract, milestone)

        assert contract.released_amount == 10_000


class TestCancellation:
    def test_the_client_ends_an_active_contract_and_the_held_escrow_goes_back(self, uow):
        contract = active(uow, 10_000, 5_000)

        sagas.cancel(uow, contract, contract.client_id, "Changed plans")

        assert (contract.status, contract.end_reason) == ("cancelling", "ended_by_client")
        assert [m.status for m in contract.milestones] == ["refunding", "cancelled"]
        assert uow.types() == ["contracts.milestone.refund_requested"]
        assert uow.timer(sagas.SETTLE, contract.id) is None  # a refund is in flight

    def test_the_freelancer_ends_an_active_contract(self, uow):
        contract = active(uow)

        sagas.cancel(uow, contract, contract.freelancer_id, None)

        assert contract.end_reason == "ended_by_freelancer"

    def test_the_client_withdraws_an_offer(self, uow):
        contract = offered(uow)

        sagas.cancel(uow, contract, contract.client_id, None)

        assert (contract.status, contract.end_reason) == ("cancelling", "withdrawn")

    def test_a_freelancer_declines_an_offer_rather_than_cancelling_it(self, uow):
        contract = offered(uow)

        with pytest.raises(Conflict, match="decline"):
            sagas.cancel(uow, contract, contract.freelancer_id, None)

    def test_an_ending_contract_cannot_be_cancelled_again(self, uow):
        contract = active(uow)
        sagas.cancel(uow, contract, contract.client_id, None)

        with pytest.raises(Conflict, match="already cancelling"):
            sagas.cancel(uow, contract, contract.client_id, None)

    def test_with_nothing_in_flight_the_worker_settles_the_cancellation_at_once(self, uow):
        contract = submitted(uow, 10_000, 5_000)
        released, rest = contract.milestones
        sagas.approve(uow, contract, released)
        sagas.record_release(uow, contract, released)
        uow.forget()

        sagas.cancel(uow, contract, contract.client_id, None)

        assert rest.status == "cancelled"
        timer = uow.timer(sagas.SETTLE, contract.id)
        assert timer is not None and timer.due_at <= utcnow()
        uow.fire(sagas.SETTLE, contract.id, SERVICE.timers)
        assert contract.status == "cancelled"
        cancelled = uow.event("contracts.contract.cancelled")
        assert (cancelled["end_reason"], cancelled["released_amount"]) == ("ended_by_client", 10_000)

    def test_the_last_refund_settles_the_contract_as_cancelled(self, uow):
        contract = active(uow)
        sagas.cancel(uow, contract, contract.client_id, None)
        uow.forget()

        sagas.record_refund(uow, contract, contract.milestones[0])

        assert contract.milestones[0].status == "refunded"
        assert contract.status == "cancelled"
        cancelled = uow.event("contracts.contract.cancelled")
        assert (cancelled["end_reason"], cancelled["released_amount"]) == ("ended_by_client", 0)

    def test_an_approved_milestone_finishes_its_release_and_the_contract_ends_cancelled_not_completed(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]
        sagas.approve(uow, contract, milestone)
        sagas.cancel(uow, contract, contract.client_id, None)
        assert milestone.status == "approved"
        uow.forget()

        sagas.record_release(uow, contract, milestone)

        assert (milestone.status, contract.status) == ("released", "cancelled")
        assert uow.event("contracts.contract.cancelled")["released_amount"] == 10_000

    def test_a_funding_answer_in_flight_holds_the_cancellation_until_it_comes(self, uow):
        contract = pending(uow)
        sagas.cancel(uow, contract, contract.client_id, None)
        assert contract.status == "cancelling"
        uow.forget()

        sagas.record_funding(uow, contract, contract.milestones[0])

        assert contract.milestones[0].status == "refunding"
        assert uow.types() == ["contracts.milestone.refund_requested"]

    def test_a_suspended_party_has_its_offers_withdrawn_and_contracts_ended(self, uow):
        first = active(uow)
        second = sagas.create_contract(uow, {**hire_request(), "client_id": first.client_id})
        sagas.record_funding(uow, second, second.milestones[0])
        uow.forget()

        sagas.end_for_suspension(uow, first.client_id)

        assert {first.end_reason, second.end_reason} == {"party_suspended"}
        assert first.status == second.status == "cancelling"

    def test_a_cancelled_contract_cannot_start_cancelling_again(self, uow):
        contract = pending(uow)
        sagas.record_funding_failure(uow, contract, contract.milestones[0], "insufficient_funds")

        with pytest.raises(IllegalTransition):
            sagas.begin_cancellation(uow, contract, "withdrawn")


class TestAnswersBeforeTheirContract:
    def test_an_escrow_answer_for_an_unknown_contract_is_retried_later(self, uow):
        event = delivered("payments.escrow.funded", {"contract_id": new_id(), "milestone_id": new_id(),
                                                     "amount": 10_000, "client_fee": 500})

        with pytest.raises(NotReady):
            SERVICE.handlers[event.type](event, uow)


class TestDeadlines:
    """Every in-flight step has a deadline: past it the request is sent again, each wait twice the last."""

    def test_the_first_re_send_is_due_saga_resend_after_the_request_then_each_wait_doubles_to_the_cap(self):
        settings = SETTING.replace(saga_resend_after=timedelta(minutes=1), saga_resend_max=timedelta(minutes=10))

        waits = [sagas.resend_delay(settings, n) for n in range(6)]

        assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 10, 10)]
        assert sagas.resend_delay(settings, 10_000) == timedelta(minutes=10)  # no overflow, however long it waits
        start = utcnow()
        assert [sagas.deadline(settings, start, n) - start for n in range(4)] == [
            timedelta(minutes=m) for m in (1, 3, 7, 15)]

    @pytest.mark.parametrize("step", ["funding", "approved", "refunding"])
    def test_each_in_flight_milestone_is_armed_when_its_request_goes_out(self, uow, step):
        contract = self._in(uow, step)
        milestone = contract.milestones[0]

        timer = uow.timer(sagas.RESEND_REQUEST, milestone.id)

        assert milestone.status == step and milestone.resends == 0
        assert timer.due_at == milestone.requested_at + SETTING.saga_resend_after
        assert timer.payload["contract_id"] == contract.id

    @pytest.mark.parametrize("step", ["funding", "approved", "refunding"])
    def test_past_its_deadline_the_same_request_is_sent_again_and_the_next_deadline_is_twice_as_far(self, uow, step):
        contract = self._in(uow, step)
        milestone = contract.milestones[0]
        request = sagas.REQUESTS[step]
        first = uow.events(request)[-1].data
        uow.forget()

        uow.fire(sagas.RESEND_REQUEST, milestone.id, SERVICE.timers)

        assert uow.types() == [request]
        assert uow.event(request) == first
        assert milestone.resends == 1 and milestone.status == step
        assert uow.timer(sagas.RESEND_REQUEST, milestone.id).due_at == (
            milestone.requested_at + SETTING.saga_resend_after * 3)

        uow.forget()
        uow.fire(sagas.RESEND_REQUEST, milestone.id, SERVICE.timers)

        assert milestone.resends == 2
        assert uow.timer(sagas.RESEND_REQUEST, milestone.id).due_at == (
            milestone.requested_at + SETTING.saga_resend_after * 7)

    def test_an_auto_approval_is_re_sent_as_an_auto_approval(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]
        sagas.approve(uow, contract, milestone, auto=True)
        uow.forget()

        uow.fire(sagas.RESEND_REQUEST, milestone.id, SERVICE.timers)

        assert uow.event("contracts.milestone.approved")["auto"] is True

    @pytest.mark.parametrize("step, answer", [
        ("funding", lambda uow, c, m: sagas.record_funding(uow, c, m)),
        ("funding", lambda uow, c, m: sagas.record_funding_failure(uow, c, m, "insufficient_funds")),
        ("approved", lambda uow, c, m: sagas.record_release(uow, c, m)),
        ("refunding", lambda uow, c, m: sagas.record_refund(uow, c, m)),
    ])
    def test_an_answer_disarms_the_re_send(self, uow, step, answer):
        contract = self._in(uow, step)
        milestone = contract.milestones[0]

        answer(uow, contract, milestone)

        assert (sagas.RESEND_REQUEST, milestone.id) in uow.cancelled
        assert uow.timer(sagas.RESEND_REQUEST, milestone.id) is None

    def test_a_re_send_that_finds_the_milestone_answered_sends_nothing(self, uow):
        contract = pending(uow)
        milestone = contract.milestones[0]
        timer = uow.timer(sagas.RESEND_REQUEST, milestone.id)
        sagas.record_funding(uow, contract, milestone)
        uow.forget()

        SERVICE.timers[sagas.RESEND_REQUEST](timer, uow)

        assert uow.types() == [] and milestone.resends == 0

    def test_a_cancelling_contract_has_a_deadline_and_settles_when_it_finds_nothing_in_flight(self, uow):
        contract = active(uow)
        sagas.cancel(uow, contract, contract.client_id, None)
        timer = uow.timer(sagas.RESEND_CANCELLATION, contract.id)
        assert timer.due_at == contract.cancelling_at + SETTING.saga_resend_after

        uow.fire(sagas.RESEND_CANCELLATION, contract.id, SERVICE.timers)  # the refund is still in flight

        assert contract.status == "cancelling" and contract.resends == 1
        assert uow.timer(sagas.RESEND_CANCELLATION, contract.id).due_at == (
            contract.cancelling_at + SETTING.saga_resend_after * 3)

        contract.milestones[0].status = "refunded"  # as if the answer were consumed without settling
        uow.fire(sagas.RESEND_CANCELLATION, contract.id, SERVICE.timers)

        assert contract.status == "cancelled"
        assert uow.timer(sagas.RESEND_CANCELLATION, contract.id) is None

    def test_an_ended_contract_is_disarmed(self, uow):
        contract = active(uow)
        sagas.cancel(uow, contract, contract.client_id, None)

        sagas.record_refund(uow, contract, contract.milestones[0])

        assert contract.status == "cancelled"
        assert uow.timer(sagas.RESEND_CANCELLATION, contract.id) is None

    def test_only_steps_past_their_first_deadline_are_stuck_each_saying_what_it_waits_for(self, uow):
        from services.contracts.stuck import stuck_sagas

        contract = active(uow, 10_000, 5_000)
        sagas.fund(uow, contract, contract.milestones[1])
        sagas.cancel(uow, contract, contract.client_id, None)
        uow.session.flush()
        soon = utcnow() + SETTING.saga_resend_after / 2
        later = utcnow() + SETTING.saga_resend_after * 2

        assert stuck_sagas(uow.session, SETTING, now=soon) == []
        stuck = stuck_sagas(uow.session, SETTING, now=later)

        assert sorted((saga.kind, saga.state) for saga in stuck) == [
            ("contract", "cancelling"), ("milestone", "funding"), ("milestone", "refunding")]
        by_state = {saga.state: saga for saga in stuck}
        assert by_state["funding"].id == contract.milestones[1].id
        assert "contracts.milestone.funding_requested" in by_state["funding"].why
        assert contract.milestones[0].id in by_state["cancelling"].why
        assert all(saga.attempts == 0 for saga in stuck)

    @staticmethod
    def _in(uow, step: str) -> Contract:
        if step == "funding":
            return pending(uow)
        if step == "refunding":  # funded work nobody handed in is refunded when the contract ends
            contract = active(uow)
            sagas.cancel(uow, contract, contract.client_id, None)
            return contract
        contract = submitted(uow)
        sagas.approve(uow, contract, contract.milestones[0])
        return contract
