"""Refund requests: the client claims part or all of a milestone's escrow back; the freelancer accepts or
disputes it, the client may withdraw it, and unanswered by `respond_by` it is accepted by itself. Also the
freelancer's voluntary refund, and the split that ends a claim with money.

Every move runs under the contract's row lock, and the clock read under that lock decides a move made at
or after its deadline: exactly one of the party's move and the timer wins.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.contracts import sagas
from services.contracts.models import Contract, Milestone
from services.contracts.records import RefundRequest
from services.contracts.states import MILESTONE, REFUND_REQUEST, WORKED
from shared.db import utcnow
from shared.errors import Conflict, NotFound, Unprocessable
from shared.ids import new_id

RESPONSE_DUE = "contracts.refund_request.accept_unanswered"
CLAIMABLE = ("funded", *WORKED)


def split_data(contract: Contract, milestone: Milestone) -> dict:
    """`contracts.milestone.split_requested`: the milestone's escrow, `refund_amount` of it to the client."""
    refund_amount = milestone.asked_refund_amount or 0
    return {"contract_id": contract.id, "milestone_id": milestone.id, "client_id": contract.client_id,
            "freelancer_id": contract.freelancer_id, "amount": milestone.amount,
            "freelancer_amount": milestone.amount - refund_amount, "refund_amount": refund_amount,
            "client_fee_bps": contract.client_fee_bps, "freelancer_fee_bps": contract.freelancer_fee_bps}


def require_claimable(contract: Contract, milestone: Milestone) -> None:
    """A claim opens on escrow nobody has settled: funded, submitted (before its auto-approval) or sent back."""
    if contract.status != "active":
        raise Conflict(f"The contract is {contract.status}; refunds are asked only while it is active.")
    if milestone.status not in CLAIMABLE:
        raise Conflict(f"The milestone is {milestone.status}; only a funded, submitted or changes_requested "
                       "milestone can be refunded.")
    if milestone.status == "submitted" and milestone.auto_approve_at is not None and milestone.auto_approve_at <= utcnow():
        raise Conflict("The milestone is past its auto-approval: it is approved, not refunded.")


def open_request(uow, contract: Contract, milestone: Milestone, *, amount: int, reason: str) -> RefundRequest:
    """The client asks `amount` back (at least the discount the freelancer already gave, at most all)."""
    require_claimable(contract, milestone)
    least = max(1, milestone.discount_amount or 0)
    if not least <= amount <= milestone.amount:
        raise Unprocessable("Invalid fields: amount",
                            {"amount": [f"Must be between {least} and {milestone.amount}."]})
    return _open(uow, contract, milestone, amount, reason)


def open_on_ending(uow, contract: Contract, milestone: Milestone) -> None:
    """The contract ends with work handed in: its full amount is claimed on the client's behalf, unless the
    work is already past its auto-approval, which approves it."""
    if milestone.status == "submitted" and milestone.auto_approve_at is not None and milestone.auto_approve_at <= utcnow():
        sagas.release(uow, contract, milestone, auto=True)
        return
    _open(uow, contract, milestone, milestone.amount, "contract_ended")


def _open(uow, contract: Contract, milestone: Milestone, amount: int, reason: str) -> RefundRequest:
    now = utcnow()
    request = RefundRequest(id=new_id(), contract_id=contract.id, milestone_id=milestone.id, amount=amount,
                            reason=reason, status="pending", auto=False,
                            respond_by=now + uow.settings.refund_response_window, created_at=now)
    milestone.claimed_from = milestone.status
    MILESTONE.apply(milestone, "refund_requested")
    milestone.refund_request_id = request.id
    milestone.auto_approve_at = None
    uow.cancel_timer(sagas.AUTO_APPROVE, milestone.id)
    uow.session.add(request)
    uow.session.flush()
    uow.schedule(RESPONSE_DUE, request.id, request.respond_by,
                 {"contract_id": contract.id, "correlation_id": contract.id})
    _announce(uow, request, "opened")
    return request


def of_milestone(uow, milestone: Milestone, request_id: str) -> RefundRequest:
    request = uow.session.get(RefundRequest, request_id)
    if request is None or request.milestone_id != milestone.id:
        raise NotFound("No such refund request for this milestone.")
    return request


def listed(milestone: Milestone) -> sa.Select:
    """A milestone's refund requests (the API pages them newest first)."""
    return sa.select(RefundRequest).where(RefundRequest.milestone_id == milestone.id)


def require_answerable(request: RefundRequest, now: datetime | None = None) -> None:
    """A move on a request: it must still be pending and before its `respond_by`, by the clock."""
    if request.status != "pending":
        raise Conflict(f"The refund request is {request.status}.")
    if request.respond_by <= (now or utcnow()):
        raise Conflict("The refund request is past its respond_by: it is accepted by itself.")


def accept(uow, contract: Contract, milestone: Milestone, request: RefundRequest) -> None:
    """The freelancer agrees: the asked amount goes back to the client, the rest is released."""
    require_answerable(request)
    _settle(uow, contract, milestone, request, auto=False)


def _settle(uow, contract: Contract, milestone: Milestone, request: RefundRequest, *, auto: bool) -> None:
    request.auto = auto
    close(uow, contract, request, "accepted")
    sagas.request_split(uow, contract, milestone, request.amount)


def withdraw(uow, contract: Contract, milestone: Milestone, request: RefundRequest) -> None:
    """The client takes the request back: the milestone is as it was before it."""
    if contract.status != "active":
        raise Conflict(f"The contract is {contract.status}; its claims go on until they end.")
    require_answerable(request)
    close(uow, contract, request, "withdrawn")
    give_back(uow, contract, milestone)


def close(uow, contract: Contract, request: RefundRequest, status: str, dispute_id: str | None = None) -> None:
    REFUND_REQUEST.apply(request, status)
    request.closed_at, request.dispute_id = utcnow(), dispute_id
    uow.cancel_timer(RESPONSE_DUE, request.id)
    _announce(uow, request, "closed")


def give_back(uow, contract: Contract, milestone: Milestone) -> None:
    """A claim withdrawn by the client: the milestone returns to its prior state; submitted work is
    approved by itself AUTO_APPROVE_AFTER from now."""
    MILESTONE.apply(milestone, milestone.claimed_from or "funded")
    milestone.claimed_from = None
    if milestone.status == "submitted":
        milestone.auto_approve_at = utcnow() + uow.settings.auto_approve_after
        uow.schedule(sagas.AUTO_APPROVE, milestone.id, milestone.auto_approve_at,
                     {"contract_id": contract.id, "correlation_id": contract.id, "milestone_id": milestone.id})


def refund_voluntarily(uow, contract: Contract, milestone: Milestone, amount: int) -> None:
    """The freelancer gives money back: all that is left is the Refund saga's step; less is a discount that
    every later settlement refunds at least."""
    if contract.status != "active":
        raise Conflict(f"The contract is {contract.status}; refunds are given only while it is active.")
    if milestone.status not in CLAIMABLE:
        raise Conflict(f"The milestone is {milestone.status}; only a funded, submitted or changes_requested "
                       "milestone can be refunded.")
    left = milestone.amount - (milestone.discount_amount or 0)
    if not 1 <= amount <= left:
        raise Unprocessable("Invalid fields: amount", {"amount": [f"Must be between 1 and {left}."]})
    if amount == left:
        sagas.request_refund(uow, contract, milestone)
    else:
        milestone.discount_amount = (milestone.discount_amount or 0) + amount


def _announce(uow, request: RefundRequest, what: str) -> None:
    uow.emit(f"contracts.refund_request.{what}", {
        "refund_request_id": request.id, "contract_id": request.contract_id, "milestone_id": request.milestone_id,
        "status": request.status, "amount": request.amount, "auto": request.auto, "respond_by": request.respond_by,
        "dispute_id": request.dispute_id}, correlation_id=request.contract_id)


def response_due(timer, uow) -> None:
    """REFUND_RESPONSE_WINDOW passed: a request still pending at its `respond_by` is accepted (auto)."""
    contract = sagas.locked_contract(uow, timer.payload["contract_id"])
    request = uow.session.get(RefundRequest, timer.key)
    if contract is None or request is None or request.status != "pending" or request.respond_by > utcnow():
        return
    milestone = contract.milestone(request.milestone_id)
    if milestone is not None and milestone.status == "refund_requested":
        _settle(uow, contract, milestone, request, auto=True)


def record_escrow_split(event, uow) -> None:
    """The milestone's escrow was split between the freelancer and the client."""
    contract, milestone = sagas.milestone_of(uow, event.data)
    sagas.record_split(uow, contract, milestone, freelancer_amount=event.data["freelancer_amount"],
                       refund_amount=event.data["refund_amount"])


# Claims: a refund request (or a discounted approval) ends in one split of the escrow
#   1. client asks / contract ends    open_request / open_on_ending: milestone refund_requested
#   2. freelancer accepts, or unanswered by respond_by
#                                     accept / response_due: request_split: splitting, split_requested
#      freelancer disputes            disputes.open_dispute → the dispute decides the split
#      client withdraws               withdraw: the milestone back to its prior state
#   3. payments.escrow.split          record_split: split (released or refunded if one side got all)
CLAIMS = {
    "payments.escrow.split": record_escrow_split,
}

TIMERS = {
    RESPONSE_DUE: response_due,  # Claims 2
}
