"""Fixed-price protection step by step: refund requests, voluntary refunds, disputes, ending with work handed
in, edits; what each step changes, emits and schedules, and the moves it refuses (DISPUTES.md)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.contracts import SERVICE, disputes, edits, refunds, sagas
from services.contracts.models import Contract
from services.contracts.states import CLAIMED, HOLDING, MILESTONE, REFUNDABLE
from shared.db import utcnow
from shared.errors import Conflict, Unprocessable
from tests.unit.test_contracts import active, submitted


@pytest.fixture
def uow(make_uow):
    return make_uow(SERVICE)


def claimed(uow, amount: int = 3_000) -> tuple[Contract, object]:
    """A submitted milestone of 10 000 whose client asks `amount` back."""
    contract = submitted(uow)
    milestone = contract.milestones[0]
    request = refunds.open_request(uow, contract, milestone, amount=amount, reason="Half done")
    uow.forget()
    return contract, request


def disputed(uow, amount: int = 3_000):
    contract, request = claimed(uow, amount)
    milestone = contract.milestones[0]
    dispute = disputes.open_dispute(uow, contract, milestone, request, "It is all done")
    uow.forget()
    return contract, milestone, dispute


def in_mediation(uow, amount: int = 3_000):
    contract, milestone, dispute = disputed(uow, amount)
    disputes.respond(uow, contract, dispute, "It is not")
    disputes.propose(uow, contract, milestone, dispute, freelancer_amount=6_000, refund_amount=4_000, note=None)
    uow.forget()
    return contract, milestone, dispute


def split_asked(uow) -> dict:
    return uow.event("contracts.milestone.split_requested")


class TestStates:
    def test_a_claimed_milestone_is_held_out_of_every_other_move(self):
        for state in CLAIMED:
            for target in ("approved", "refunding", "refund_requested", "released"):
                assert not MILESTONE.can(state, target), (state, target)
        assert set(CLAIMED) <= set(HOLDING) and "splitting" in HOLDING
        assert REFUNDABLE == ("funded",)  # worked-on escrow is claimed when the contract ends, never refunded silently

    def test_a_split_ends_a_milestone_and_an_approved_one_may_be_answered_by_any_escrow_event(self):
        assert "split" in MILESTONE.end
        assert {t for t in ("released", "split", "refunded") if MILESTONE.can("approved", t)} == {
            "released", "split", "refunded"}


class TestRefundRequest:
    def test_the_client_asks_part_back_and_auto_approval_stops(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]

        request = refunds.open_request(uow, contract, milestone, amount=3_000, reason="Half done")

        assert (milestone.status, milestone.refund_request_id, milestone.auto_approve_at) == (
            "refund_requested", request.id, None)
        assert (sagas.AUTO_APPROVE, milestone.id) in uow.cancelled
        timer = uow.timer(refunds.RESPONSE_DUE, request.id)
        assert timer.due_at == request.respond_by
        assert request.respond_by - request.created_at == SERVICE.settings().refund_response_window
        assert uow.event("contracts.refund_request.opened")["status"] == "pending"
        assert not uow.events("contracts.milestone.refund_requested")  # the full-refund command is not sent

    @pytest.mark.parametrize("amount", [0, 10_001])
    def test_an_amount_out_of_range_is_422_naming_it(self, uow, amount):
        contract = submitted(uow)
        with pytest.raises(Unprocessable) as refused:
            refunds.open_request(uow, contract, contract.milestones[0], amount=amount, reason="x")
        assert "amount" in refused.value.extra["errors"]

    def test_past_its_auto_approval_submitted_work_cannot_be_claimed(self, uow):
        contract = submitted(uow)
        contract.milestones[0].auto_approve_at = utcnow() - timedelta(seconds=1)
        with pytest.raises(Conflict, match="auto-approval"):
            refunds.open_request(uow, contract, contract.milestones[0], amount=1_000, reason="x")

    def test_a_claimed_milestone_cannot_be_approved_submitted_sent_back_refunded_or_asked_again(self, uow):
        contract, request = claimed(uow)
        milestone = contract.milestones[0]
        for move in (lambda: sagas.approve(uow, contract, milestone),
                     lambda: sagas.submit(uow, contract, milestone, "again"),
                     lambda: sagas.request_changes(uow, contract, milestone, "more"),
                     lambda: refunds.refund_voluntarily(uow, contract, milestone, 100),
                     lambda: refunds.open_request(uow, contract, milestone, amount=100, reason="x")):
            with pytest.raises(Conflict):
                move()
        assert milestone.status == "refund_requested"

    def test_the_freelancer_accepts_and_one_split_is_asked(self, uow):
        contract, request = claimed(uow)
        milestone = contract.milestones[0]

        refunds.accept(uow, contract, milestone, request)

        assert (request.status, request.auto, milestone.status) == ("accepted", False, "splitting")
        asked = split_asked(uow)
        assert (asked["amount"], asked["freelancer_amount"], asked["refund_amount"]) == (10_000, 7_000, 3_000)
        assert (asked["client_fee_bps"], asked["freelancer_fee_bps"]) == (500, 1000)
        assert uow.timer(sagas.RESEND_REQUEST, milestone.id) is not None  # the split has a deadline too

    def test_an_answer_at_its_respond_by_is_409_even_before_the_timer_fires(self, uow):
        contract, request = claimed(uow)
        request.respond_by = utcnow()
        with pytest.raises(Conflict, match="respond_by"):
            refunds.accept(uow, contract, contract.milestones[0], request)
        with pytest.raises(Conflict, match="respond_by"):
            disputes.open_dispute(uow, contract, contract.milestones[0], request, "No")

    def test_unanswered_it_is_accepted_by_itself(self, uow):
        contract, request = claimed(uow)
        request.respond_by = utcnow() - timedelta(seconds=1)

        uow.fire(refunds.RESPONSE_DUE, request.id, SERVICE.timers)

        assert (request.status, request.auto) == ("accepted", True)
        assert split_asked(uow)["refund_amount"] == 3_000

    def test_an_early_or_late_timer_does_nothing(self, uow):
        contract, request = claimed(uow)
        uow.fire(refunds.RESPONSE_DUE, request.id, SERVICE.timers)  # early: respond_by is days away
        assert request.status == "pending"
        refunds.withdraw(uow, contract, contract.milestones[0], request)
        uow.schedule(refunds.RESPONSE_DUE, request.id, utcnow(), {"contract_id": contract.id})
        request.respond_by = utcnow() - timedelta(seconds=1)
        uow.fire(refunds.RESPONSE_DUE, request.id, SERVICE.timers)  # late: already withdrawn
        assert request.status == "withdrawn"

    def test_the_client_withdraws_and_submitted_work_is_auto_approved_anew(self, uow):
        contract, request = claimed(uow)
        milestone = contract.milestones[0]

        refunds.withdraw(uow, contract, milestone, request)

        assert (request.status, milestone.status) == ("withdrawn", "submitted")
        timer = uow.timer(sagas.AUTO_APPROVE, milestone.id)
        assert timer is not None and timer.due_at == milestone.auto_approve_at
        assert milestone.auto_approve_at > utcnow() + SERVICE.settings().auto_approve_after - timedelta(minutes=1)
        assert uow.event("contracts.refund_request.closed")["status"] == "withdrawn"

    def test_a_funded_milestone_goes_back_to_funded(self, uow):
        contract = active(uow)
        milestone = contract.milestones[0]
        request = refunds.open_request(uow, contract, milestone, amount=10_000, reason="Not started")
        refunds.withdraw(uow, contract, milestone, request)
        assert milestone.status == "funded" and uow.timer(sagas.AUTO_APPROVE, milestone.id) is None


class TestVoluntaryRefund:
    def test_part_is_a_discount_every_settlement_refunds_at_least(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]

        refunds.refund_voluntarily(uow, contract, milestone, 2_500)
        assert (milestone.status, milestone.discount_amount) == ("submitted", 2_500)
        with pytest.raises(Unprocessable):
            refunds.open_request(uow, contract, milestone, amount=2_000, reason="less than given")

        sagas.approve(uow, contract, milestone)

        assert milestone.status == "approved"
        assert not uow.events("contracts.milestone.approved")
        asked = split_asked(uow)
        assert (asked["freelancer_amount"], asked["refund_amount"]) == (7_500, 2_500)

    def test_all_that_is_left_is_the_refund_step(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]
        refunds.refund_voluntarily(uow, contract, milestone, 1_000)
        with pytest.raises(Unprocessable):
            refunds.refund_voluntarily(uow, contract, milestone, 9_001)

        refunds.refund_voluntarily(uow, contract, milestone, 9_000)

        assert milestone.status == "refunding"
        assert uow.event("contracts.milestone.refund_requested")["amount"] == 10_000

    def test_an_all_refunded_contract_stays_active(self, uow):
        contract = active(uow)
        milestone = contract.milestones[0]
        refunds.refund_voluntarily(uow, contract, milestone, 10_000)
        sagas.record_refund(uow, contract, milestone)
        assert (milestone.status, contract.status) == ("refunded", "active")


class TestDispute:
    def test_the_freelancer_disputes_and_the_client_has_the_response_window(self, uow):
        contract, milestone, dispute = disputed(uow)
        assert (milestone.status, milestone.dispute_id, dispute.status) == ("disputed", dispute.id, "open")
        assert (dispute.amount, dispute.requested_amount) == (10_000, 3_000)
        assert uow.timer(disputes.NO_RESPONSE, dispute.id).due_at == dispute.respond_by

    def test_no_response_gives_all_to_the_freelancer_less_any_discount(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]
        refunds.refund_voluntarily(uow, contract, milestone, 500)
        request = refunds.open_request(uow, contract, milestone, amount=5_000, reason="x")
        dispute = disputes.open_dispute(uow, contract, milestone, request, "No")
        dispute.respond_by = utcnow() - timedelta(seconds=1)
        uow.forget()

        uow.fire(disputes.NO_RESPONSE, dispute.id, SERVICE.timers)

        assert (dispute.status, dispute.resolution) == ("resolved", "no_response")
        assert (dispute.freelancer_amount, dispute.refund_amount) == (9_500, 500)
        assert (split_asked(uow)["freelancer_amount"], milestone.status) == (9_500, "splitting")

    def test_both_parties_accept_the_proposal_and_it_is_agreed(self, uow):
        contract, milestone, dispute = in_mediation(uow)
        assert dispute.proposal["accept_by"] == dispute.accept_by
        disputes.answer(uow, contract, milestone, dispute, "client", "accepted", None)
        assert dispute.status == "mediation" and not uow.events("contracts.milestone.split_requested")
        with pytest.raises(Conflict, match="already answered"):
            disputes.answer(uow, contract, milestone, dispute, "client", "rejected", None)

        disputes.answer(uow, contract, milestone, dispute, "freelancer", "accepted", "fine")

        assert (dispute.status, dispute.resolution, dispute.refund_amount) == ("resolved", "agreed", 4_000)
        assert split_asked(uow)["refund_amount"] == 4_000

    def test_a_reject_goes_to_arbitration_at_once_and_an_admin_decides(self, uow):
        contract, milestone, dispute = in_mediation(uow)
        disputes.answer(uow, contract, milestone, dispute, "freelancer", "rejected", None)
        assert dispute.status == "arbitration" and (disputes.MEDIATION_OVER, dispute.id) in uow.cancelled

        disputes.decide(uow, contract, milestone, dispute, freelancer_amount=8_000, refund_amount=2_000, note="x")

        assert (dispute.resolution, split_asked(uow)["freelancer_amount"]) == ("arbitrated", 8_000)

    def test_unanswered_the_proposal_goes_to_arbitration(self, uow):
        contract, milestone, dispute = in_mediation(uow)
        dispute.accept_by = utcnow()
        with pytest.raises(Conflict, match="accept_by"):
            disputes.answer(uow, contract, milestone, dispute, "client", "accepted", None)
        uow.fire(disputes.MEDIATION_OVER, dispute.id, SERVICE.timers)
        assert dispute.status == "arbitration"

    @pytest.mark.parametrize("freelancer_amount, refund_amount, field", [
        (6_000, 3_000, "freelancer_amount"), (10_000, 0, "refund_amount")])
    def test_a_split_not_summing_to_the_amount_or_under_the_discount_is_422(self, uow, freelancer_amount,
                                                                             refund_amount, field):
        contract, milestone, dispute = disputed(uow)
        milestone.discount_amount = 100
        disputes.respond(uow, contract, dispute, "No")
        with pytest.raises(Unprocessable) as refused:
            disputes.propose(uow, contract, milestone, dispute, freelancer_amount=freelancer_amount,
                             refund_amount=refund_amount, note=None)
        assert field in refused.value.extra["errors"]

    def test_a_proposal_is_made_once_and_a_decision_only_in_arbitration(self, uow):
        contract, milestone, dispute = in_mediation(uow)
        with pytest.raises(Conflict):
            disputes.propose(uow, contract, milestone, dispute, freelancer_amount=1, refund_amount=9_999, note=None)
        with pytest.raises(Conflict):
            disputes.decide(uow, contract, milestone, dispute, freelancer_amount=1, refund_amount=9_999, note=None)

    def test_the_freelancer_withdraws_and_the_request_is_executed_as_asked(self, uow):
        contract, milestone, dispute = disputed(uow)
        disputes.withdraw(uow, contract, milestone, dispute, "freelancer")
        assert dispute.resolution == "withdrawn_by_freelancer"
        assert split_asked(uow)["refund_amount"] == 3_000

    def test_the_client_withdraws_and_the_milestone_is_as_before_the_request(self, uow):
        contract, milestone, dispute = disputed(uow)
        disputes.withdraw(uow, contract, milestone, dispute, "client")
        assert (dispute.resolution, dispute.refund_amount, milestone.status) == (
            "withdrawn_by_client", None, "submitted")
        assert not uow.events("contracts.milestone.split_requested")

    def test_a_cancel_during_a_dispute_waits_for_it_and_the_client_cannot_withdraw(self, uow):
        contract, milestone, dispute = disputed(uow)
        sagas.cancel(uow, contract, contract.client_id, None)
        sagas.settle(uow, contract)
        assert contract.status == "cancelling" and milestone.status == "disputed"
        with pytest.raises(Conflict, match="cancelling"):
            disputes.withdraw(uow, contract, milestone, dispute, "client")

        disputes.respond(uow, contract, dispute, "No")
        disputes.propose(uow, contract, milestone, dispute, freelancer_amount=5_000, refund_amount=5_000, note=None)
        disputes.answer(uow, contract, milestone, dispute, "client", "accepted", None)
        disputes.answer(uow, contract, milestone, dispute, "freelancer", "accepted", None)
        sagas.record_split(uow, contract, milestone, freelancer_amount=5_000, refund_amount=5_000)

        assert (milestone.status, contract.status, contract.released_amount) == ("split", "cancelled", 5_000)
        assert (milestone.freelancer_amount, milestone.refund_amount) == (5_000, 5_000)


class TestEndingWithWorkHandedIn:
    def test_ending_opens_a_full_refund_request_the_freelancer_can_dispute(self, uow):
        contract = submitted(uow, 10_000, 5_000)
        sagas.fund(uow, contract, contract.milestones[1])
        sagas.record_funding(uow, contract, contract.milestones[1])  # funded, nothing handed in
        uow.forget()

        sagas.cancel(uow, contract, contract.client_id, None)

        worked, untouched = contract.milestones
        assert (worked.status, untouched.status) == ("refund_requested", "refunding")
        opened = uow.event("contracts.refund_request.opened")
        assert (opened["amount"], opened["milestone_id"]) == (10_000, worked.id)
        assert [e.data["milestone_id"] for e in uow.events("contracts.milestone.refund_requested")] == [untouched.id]
        sagas.record_refund(uow, contract, untouched)
        assert contract.status == "cancelling"  # the claim holds it

    def test_work_past_its_auto_approval_is_approved_by_the_ending(self, uow):
        contract = submitted(uow)
        contract.milestones[0].auto_approve_at = utcnow() - timedelta(seconds=1)
        sagas.cancel(uow, contract, contract.client_id, None)
        assert contract.milestones[0].status == "approved"
        assert uow.event("contracts.milestone.approved")["auto"] is True

    def test_the_unanswered_request_splits_and_then_the_contract_is_cancelled(self, uow):
        contract = submitted(uow)
        milestone = contract.milestones[0]
        sagas.cancel(uow, contract, contract.client_id, None)
        request = uow.session.scalars(refunds.listed(milestone)).one()
        assert request.reason == "contract_ended"
        request.respond_by = utcnow()
        uow.fire(refunds.RESPONSE_DUE, request.id, SERVICE.timers)
        assert milestone.status == "splitting"

        sagas.record_refund(uow, contract, milestone)  # all of it came back: payments answered refunded

        assert (milestone.status, milestone.refund_amount, contract.status) == ("refunded", 10_000, "cancelled")


class TestSettling:
    def test_a_split_completes_the_contract_when_everything_is_settled(self, uow):
        contract, request = claimed(uow)
        milestone = contract.milestones[0]
        refunds.accept(uow, contract, milestone, request)
        sagas.record_split(uow, contract, milestone, freelancer_amount=7_000, refund_amount=3_000)
        sagas.record_split(uow, contract, milestone, freelancer_amount=7_000, refund_amount=3_000)  # repeated

        assert (milestone.status, contract.status, contract.released_amount) == ("split", "completed", 7_000)
        assert uow.event("contracts.contract.completed")["released_amount"] == 7_000

    def test_a_deleted_pending_milestone_lets_the_contract_complete(self, uow):
        contract = submitted(uow, 10_000, 5_000)
        first, second = contract.milestones
        sagas.approve(uow, contract, first)
        sagas.record_release(uow, contract, first)
        assert contract.status == "active"

        edits.delete(uow, contract, second)

        assert [m.id for m in contract.milestones] == [first.id] and contract.status == "completed"

    def test_only_a_pending_milestone_is_edited(self, uow):
        contract = active(uow, 10_000, 5_000)
        edits.edit(uow, contract, contract.milestones[1], {"title": "New", "amount": 6_000})
        assert (contract.milestones[1].title, contract.milestones[1].amount) == ("New", 6_000)
        with pytest.raises(Conflict):
            edits.edit(uow, contract, contract.milestones[0], {"title": "Funded"})


class TestWindows:
    def test_the_three_windows_are_read_from_the_environment(self):
        from services.contracts.settings import ContractsSettings
        from shared.config import ConfigError

        own = ContractsSettings.from_env({"REFUND_RESPONSE_WINDOW": "3d", "DISPUTE_RESPONSE_WINDOW": "90s",
                                          "MEDIATION_ACCEPT_WINDOW": "2h"})
        assert (own.refund_response_window, own.dispute_response_window, own.mediation_accept_window) == (
            timedelta(days=3), timedelta(seconds=90), timedelta(hours=2))
        with pytest.raises(ConfigError, match="MEDIATION_ACCEPT_WINDOW"):
            ContractsSettings.from_env({"MEDIATION_ACCEPT_WINDOW": "soon"})


class TestNotStuck:
    def test_a_contract_cancelling_while_a_claim_is_decided_is_not_stuck_but_its_split_can_be(self, uow):
        from services.contracts.stuck import stuck_sagas

        contract, milestone, dispute = disputed(uow)
        sagas.cancel(uow, contract, contract.client_id, None)
        uow.session.flush()
        later = utcnow() + SERVICE.settings().saga_resend_after * 2
        assert stuck_sagas(uow.session, SERVICE.settings(), now=later) == []

        disputes.withdraw(uow, contract, milestone, dispute, "freelancer")
        uow.session.flush()

        stuck = stuck_sagas(uow.session, SERVICE.settings(), now=later)
        assert sorted((saga.kind, saga.state) for saga in stuck) == [("contract", "cancelling"),
                                                                      ("milestone", "splitting")]
        assert "contracts.milestone.split_requested" in next(s for s in stuck if s.kind == "milestone").why
