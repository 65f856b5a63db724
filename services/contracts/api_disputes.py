"""The contracts HTTP API of fixed-price protection: milestone edits, refund requests, voluntary refunds,
disputes (with the admins' queue) and bonuses. Strangers get 404, the wrong party or a party doing the
admins' move 403."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.contracts import bonuses, disputes, edits, refunds
from services.contracts.api import MILESTONE, _as_party, _milestone, _visible
from services.contracts.models import Contract, Milestone
from services.contracts.records import Bonus, Dispute, RefundRequest
from services.contracts.schemas import MilestoneOut
from services.contracts.schemas_disputes import (AnswerIn, BonusIn, BonusOut, BonusPage, DisputeIn, DisputeOut,
                                                 DisputePage, DisputeQueueArgs, MilestonePatchIn, RefundRequestIn,
                                                 RefundRequestOut, RefundRequestPage, SplitIn, StatementIn,
                                                 VoluntaryRefundIn)
from shared.errors import Forbidden, NotFound
from shared.http import current_user, idempotent, paginate, require, unit_of_work
from shared.http.schemas import PageArgs

protection = Blueprint("protection", __name__, url_prefix="/contracts",
                       description="Fixed-price protection: milestone edits, refunds, disputes, bonuses")
REQUEST = f"{MILESTONE}/refund-requests/<uuid:request_id>"
DISPUTES = "/<uuid:contract_id>/disputes"
DISPUTE = f"{DISPUTES}/<uuid:dispute_id>"
BONUSES = "/<uuid:contract_id>/bonuses"


def _seen_milestone(uow, contract_id, milestone_id):
    contract = _visible(uow, contract_id, lock=False)
    milestone = contract.milestone(str(milestone_id))
    if milestone is None:
        raise NotFound("No such milestone in this contract.")
    return contract, milestone


def _dispute(uow, contract_id, dispute_id, *, lock: bool = True) -> tuple[Contract, Dispute]:
    contract = _visible(uow, contract_id, lock=lock)
    return contract, disputes.of_contract(uow, contract, str(dispute_id))


def _claimed(contract: Contract, dispute: Dispute) -> Milestone:
    """The disputed milestone (a pending milestone is deleted, never a claimed one)."""
    milestone = contract.milestone(dispute.milestone_id)
    if milestone is None:
        raise NotFound("No such milestone in this contract.")
    return milestone


def _require_admin() -> None:
    if not current_user().has("admin"):
        raise Forbidden("Only an admin can do this.")


# Milestone edits

@protection.patch(MILESTONE)
@require()
@protection.arguments(MilestonePatchIn)
@protection.response(200, MilestoneOut)
def edit_milestone(body, contract_id, milestone_id):
    """The client changes a pending milestone's title, amount or due date."""
    with unit_of_work() as uow:
        contract, milestone = _milestone(uow, contract_id, milestone_id, "client")
        edits.edit(uow, contract, milestone, body)
        return milestone


@protection.delete(MILESTONE)
@require()
@protection.response(204)
def delete_milestone(contract_id, milestone_id):
    """The client deletes a pending milestone; it is gone."""
    with unit_of_work() as uow:
        contract, milestone = _milestone(uow, contract_id, milestone_id, "client")
        edits.delete(uow, contract, milestone)


# Refund requests

@protection.post(f"{MILESTONE}/refund-requests")
@require()
@protection.arguments(RefundRequestIn)
@idempotent
@protection.response(201, RefundRequestOut)
def open_refund_request(body, contract_id, milestone_id, uow):
    """The client asks part or all of a milestone's escrow back; the freelancer has REFUND_RESPONSE_WINDOW."""
    contract, milestone = _milestone(uow, contract_id, milestone_id, "client")
    made = refunds.open_request(uow, contract, milestone, amount=body["amount"], reason=body["reason"])
    return made, 201, {"Location": f"/contracts/{contract.id}/milestones/{milestone.id}/refund-requests/{made.id}"}


@protection.get(f"{MILESTONE}/refund-requests")
@require()
@protection.arguments(PageArgs, location="query")
@protection.response(200, RefundRequestPage)
def list_refund_requests(args, contract_id, milestone_id):
    """A milestone's refund requests, newest first."""
    with unit_of_work(readonly=True) as uow:
        _, milestone = _seen_milestone(uow, contract_id, milestone_id)
        return paginate(uow.session, refunds.listed(milestone), RefundRequest, limit=args["limit"],
                        cursor=args["cursor"])


@protection.get(REQUEST)
@require()
@protection.response(200, RefundRequestOut)
def get_refund_request(contract_id, milestone_id, request_id):
    """One refund request."""
    with unit_of_work(readonly=True) as uow:
        _, milestone = _seen_milestone(uow, contract_id, milestone_id)
        return refunds.of_milestone(uow, milestone, str(request_id))


@protection.post(f"{REQUEST}/accept")
@require()
@protection.response(202, RefundRequestOut)
def accept_refund_request(contract_id, milestone_id, request_id):
    """The freelancer agrees: the asked amount goes back to the client, the rest is released."""
    with unit_of_work() as uow:
        contract, milestone = _milestone(uow, contract_id, milestone_id, "freelancer")
        request = refunds.of_milestone(uow, milestone, str(request_id))
        refunds.accept(uow, contract, milestone, request)
        return request, 202


@protection.post(f"{REQUEST}/dispute")
@require()
@protection.arguments(DisputeIn)
@protection.response(201, DisputeOut)
def dispute_refund_request(body, contract_id, milestone_id, request_id):
    """The freelancer disputes the request: a dispute opens, the client has DISPUTE_RESPONSE_WINDOW."""
    with unit_of_work() as uow:
        contract, milestone = _milestone(uow, contract_id, milestone_id, "freelancer")
        request = refunds.of_milestone(uow, milestone, str(request_id))
        made = disputes.open_dispute(uow, contract, milestone, request, body["reason"])
        return made, 201, {"Location": f"/contracts/{contract.id}/disputes/{made.id}"}


@protection.post(f"{REQUEST}/withdraw")
@require()
@protection.response(200, RefundRequestOut)
def withdraw_refund_request(contract_id, milestone_id, request_id):
    """The client takes the request back; the milestone is as it was."""
    with unit_of_work() as uow:
        contract, milestone = _milestone(uow, contract_id, milestone_id, "client")
        request = refunds.of_milestone(uow, milestone, str(request_id))
        refunds.withdraw(uow, contract, milestone, request)
        return request


@protection.post(f"{MILESTONE}/refund")
@require()
@protection.arguments(VoluntaryRefundIn)
@protection.response(202, MilestoneOut)
def refund_voluntarily(body, contract_id, milestone_id):
    """The freelancer gives part or all of a milestone back to the client."""
    with unit_of_work() as uow:
        contract, milestone = _milestone(uow, contract_id, milestone_id, "freelancer")
        refunds.refund_voluntarily(uow, contract, milestone, body["amount"])
        return milestone, 202


# Disputes

@protection.get("/disputes")
@require()
@protection.arguments(DisputeQueueArgs, location="query")
@protection.response(200, DisputePage)
def dispute_queue(args):
    """The admins' queue: disputes by status (unresolved by default), oldest first."""
    _require_admin()
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, disputes.queue(args.get("status")), Dispute, limit=args["limit"],
                        cursor=args["cursor"], oldest_first=True)


@protection.get(DISPUTES)
@require()
@protection.arguments(PageArgs, location="query")
@protection.response(200, DisputePage)
def list_disputes(args, contract_id):
    """A contract's disputes, newest first."""
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, disputes.listed(_visible(uow, contract_id, lock=False)), Dispute,
                        limit=args["limit"], cursor=args["cursor"])


@protection.get(DISPUTE)
@require()
@protection.response(200, DisputeOut)
def get_dispute(contract_id, dispute_id):
    """One dispute, with its proposal and resolution."""
    with unit_of_work(readonly=True) as uow:
        return _dispute(uow, contract_id, dispute_id, lock=False)[1]


@protection.post(f"{DISPUTE}/respond")
@require()
@protection.arguments(StatementIn)
@protection.response(200, DisputeOut)
def respond_to_dispute(body, contract_id, dispute_id):
    """The client states their side: the dispute goes to mediation."""
    with unit_of_work() as uow:
        contract, dispute = _dispute(uow, contract_id, dispute_id)
        _as_party(contract, "client")
        disputes.respond(uow, contract, dispute, body["statement"])
        return dispute


@protection.post(f"{DISPUTE}/proposal")
@require()
@protection.arguments(SplitIn)
@protection.response(200, DisputeOut)
def propose_split(body, contract_id, dispute_id):
    """An admin proposes a split; each party has MEDIATION_ACCEPT_WINDOW to accept it."""
    with unit_of_work() as uow:
        contract, dispute = _dispute(uow, contract_id, dispute_id)
        _require_admin()
        disputes.propose(uow, contract, _claimed(contract, dispute), dispute, **body)
        return dispute


@protection.post(f"{DISPUTE}/decision")
@require()
@protection.arguments(SplitIn)
@protection.response(200, DisputeOut)
def decide_dispute(body, contract_id, dispute_id):
    """An admin decides a dispute in arbitration; the escrow is split as decided."""
    with unit_of_work() as uow:
        contract, dispute = _dispute(uow, contract_id, dispute_id)
        _require_admin()
        disputes.decide(uow, contract, _claimed(contract, dispute), dispute, **body)
        return dispute


def _answer(contract_id, dispute_id, verdict: str, note: str | None):
    with unit_of_work() as uow:
        contract, dispute = _dispute(uow, contract_id, dispute_id)
        party = disputes.party_of(contract, current_user().id)
        disputes.answer(uow, contract, _claimed(contract, dispute), dispute, party, verdict, note)
        return dispute


@protection.post(f"{DISPUTE}/accept")
@require()
@protection.arguments(AnswerIn, required=False)
@protection.response(200, DisputeOut)
def accept_proposal(body, contract_id, dispute_id):
    """A party accepts the proposal for itself; both accepting ends the dispute as agreed."""
    return _answer(contract_id, dispute_id, "accepted", body.get("note"))


@protection.post(f"{DISPUTE}/reject")
@require()
@protection.arguments(AnswerIn, required=False)
@protection.response(200, DisputeOut)
def reject_proposal(body, contract_id, dispute_id):
    """A party rejects the proposal: the dispute goes to arbitration."""
    return _answer(contract_id, dispute_id, "rejected", body.get("note"))


@protection.post(f"{DISPUTE}/withdraw")
@require()
@protection.response(200, DisputeOut)
def withdraw_dispute(contract_id, dispute_id):
    """The freelancer gives in (the request is executed as asked), or the client drops the claim."""
    with unit_of_work() as uow:
        contract, dispute = _dispute(uow, contract_id, dispute_id)
        party = disputes.party_of(contract, current_user().id)
        disputes.withdraw(uow, contract, _claimed(contract, dispute), dispute, party)
        return dispute


# Bonuses

@protection.post(BONUSES)
@require()
@protection.arguments(BonusIn)
@idempotent
@protection.response(202, BonusOut)
def pay_bonus(body, contract_id, uow):
    """The client pays the freelancer a bonus (plus the client fee) from their available money."""
    contract = _as_party(_visible(uow, contract_id), "client")
    bonus = bonuses.request(uow, contract, amount=body["amount"], note=body.get("note"))
    return bonus, 202, {"Location": f"/contracts/{contract.id}/bonuses/{bonus.id}"}


@protection.get(BONUSES)
@require()
@protection.arguments(PageArgs, location="query")
@protection.response(200, BonusPage)
def list_bonuses(args, contract_id):
    """A contract's bonuses, newest first."""
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, bonuses.listed(_visible(uow, contract_id, lock=False)), Bonus,
                        limit=args["limit"], cursor=args["cursor"])


@protection.get(f"{BONUSES}/<uuid:bonus_id>")
@require()
@protection.response(200, BonusOut)
def get_bonus(contract_id, bonus_id):
    """One bonus, and what payments did with it."""
    with unit_of_work(readonly=True) as uow:
        return bonuses.of_contract(uow.session, _visible(uow, contract_id, lock=False), str(bonus_id))
