"""Disputes: the freelancer disputes a refund request; the client responds (or all goes to the freelancer),
an admin proposes a split each party accepts or rejects for itself, and an admin decides what is left.

| dispute                      | who acts                    | deadline                   | when it passes        |
|------------------------------|-----------------------------|----------------------------|-----------------------|
| open                         | client: respond → mediation | respond_by (DISPUTE_RESPONSE_WINDOW) | resolved, no_response |
| mediation, no proposal       | admin: proposal             | none                       |                       |
| mediation, proposal out      | each party: accept / reject | accept_by (MEDIATION_ACCEPT_WINDOW)  | arbitration           |
| arbitration                  | admin: decision             | none                       |                       |

Until resolved either party may withdraw: the freelancer's executes the request as asked, the client's is
as withdrawing the request. A resolution with money sends the milestone to one split (refunds.py).
"""
from __future__ import annotations

import sqlalchemy as sa

from services.contracts import refunds, sagas
from services.contracts.models import Contract, Milestone
from services.contracts.records import Dispute, RefundRequest
from services.contracts.states import DISPUTE, MILESTONE
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.ids import new_id

NO_RESPONSE = "contracts.dispute.resolve_unanswered"
MEDIATION_OVER = "contracts.dispute.escalate_unanswered"
UNRESOLVED = ("open", "mediation", "arbitration")


def open_dispute(uow, contract: Contract, milestone: Milestone, request: RefundRequest, reason: str) -> Dispute:
    """The freelancer disputes a pending refund request: the request ends, the milestone is disputed."""
    refunds.require_answerable(request)
    now = utcnow()
    dispute = Dispute(id=new_id(), contract_id=contract.id, milestone_id=milestone.id, refund_request_id=request.id,
                      client_id=contract.client_id, freelancer_id=contract.freelancer_id, amount=milestone.amount,
                      requested_amount=request.amount, reason=reason, status="open",
                      respond_by=now + uow.settings.dispute_response_window, created_at=now)
    uow.session.add(dispute)
    uow.session.flush()
    refunds.close(uow, contract, request, "disputed", dispute_id=dispute.id)
    MILESTONE.apply(milestone, "disputed")
    milestone.dispute_id = dispute.id
    uow.schedule(NO_RESPONSE, dispute.id, dispute.respond_by, _payload(contract))
    _announce(uow, dispute, "opened")
    return dispute


def of_contract(uow, contract: Contract, dispute_id: str) -> Dispute:
    dispute = uow.session.get(Dispute, dispute_id)
    if dispute is None or dispute.contract_id != contract.id:
        raise NotFound("No such dispute in this contract.")
    return dispute


def listed(contract: Contract) -> sa.Select:
    """A contract's disputes (the API pages them newest first)."""
    return sa.select(Dispute).where(Dispute.contract_id == contract.id)


def queue(status: str | None) -> sa.Select:
    """The admins' queue: disputes in `status`, unresolved by default (the API pages it oldest first)."""
    return sa.select(Dispute).where(Dispute.status == status if status else Dispute.status.in_(UNRESOLVED))


def party_of(contract: Contract, user_id: str) -> str:
    """`client` or `freelancer`; an admin (or anyone) not a party is refused a party's move."""
    if user_id == contract.client_id:
        return "client"
    if user_id == contract.freelancer_id:
        return "freelancer"
    raise Forbidden("Only the contract's parties answer for themselves in a dispute.")


def _require_before_deadline(dispute: Dispute) -> None:
    """A party's move at or after the deadline now running is refused by the clock, fired or not."""
    now = utcnow()
    if dispute.status == "open" and dispute.respond_by <= now:
        raise Conflict("The dispute is past its respond_by: it is resolved for the freelancer.")
    if dispute.status == "mediation" and dispute.accept_by is not None and dispute.accept_by <= now:
        raise Conflict("The proposal is past its accept_by: the dispute goes to arbitration.")


def respond(uow, contract: Contract, dispute: Dispute, statement: str) -> None:
    """The client answers the dispute: it goes to mediation."""
    if dispute.status != "open":
        raise Conflict(f"The dispute is {dispute.status}; only an open dispute is responded to.")
    _require_before_deadline(dispute)
    DISPUTE.apply(dispute, "mediation")
    dispute.statement = statement
    uow.cancel_timer(NO_RESPONSE, dispute.id)
    _announce(uow, dispute, "escalated")


def _checked_split(milestone: Milestone, freelancer_amount: int, refund_amount: int) -> None:
    if freelancer_amount + refund_amount != milestone.amount:
        message = [f"freelancer_amount and refund_amount must sum to the milestone's amount ({milestone.amount})."]
        raise Unprocessable("Invalid fields: freelancer_amount, refund_amount",
                            {"freelancer_amount": message, "refund_amount": message})
    if refund_amount < (milestone.discount_amount or 0):
        raise Unprocessable("Invalid fields: refund_amount", {"refund_amount": [
            f"Must be at least the discount the freelancer already gave ({milestone.discount_amount})."]})


def propose(uow, contract: Contract, milestone: Milestone, dispute: Dispute, *, freelancer_amount: int,
            refund_amount: int, note: str | None) -> None:
    """An admin proposes one split; the parties have MEDIATION_ACCEPT_WINDOW to accept it."""
    if dispute.status != "mediation" or dispute.accept_by is not None:
        raise Conflict(f"The dispute is {dispute.status}"
                       f"{' with a proposal out' if dispute.accept_by is not None else ''}; a proposal is made "
                       "once, in mediation.")
    _checked_split(milestone, freelancer_amount, refund_amount)
    dispute.proposal_freelancer_amount, dispute.proposal_refund_amount = freelancer_amount, refund_amount
    dispute.proposal_note = note
    dispute.accept_by = utcnow() + uow.settings.mediation_accept_window
    uow.schedule(MEDIATION_OVER, dispute.id, dispute.accept_by, _payload(contract))
    _announce(uow, dispute, "proposed")


def answer(uow, contract: Contract, milestone: Milestone, dispute: Dispute, party: str, verdict: str,
           note: str | None) -> None:
    """A party accepts or rejects the proposal for itself: both accepting agrees it, a reject escalates."""
    if dispute.status != "mediation" or dispute.accept_by is None:
        raise Conflict(f"The dispute is {dispute.status} with no proposal to answer.")
    _require_before_deadline(dispute)
    if getattr(dispute, f"{party}_answer") is not None:
        raise Conflict(f"The {party} has already answered this proposal.")
    setattr(dispute, f"{party}_answer", verdict)
    setattr(dispute, f"{party}_note", note)
    if verdict == "rejected":
        _escalate(uow, dispute)
    elif dispute.client_answer == dispute.freelancer_answer == "accepted":
        _resolve(uow, contract, milestone, dispute, "agreed", freelancer_amount=dispute.proposal_freelancer_amount,
                 refund_amount=dispute.proposal_refund_amount)


def decide(uow, contract: Contract, milestone: Milestone, dispute: Dispute, *, freelancer_amount: int,
           refund_amount: int, note: str | None) -> None:
    """An admin decides a dispute in arbitration."""
    if dispute.status != "arbitration":
        raise Conflict(f"The dispute is {dispute.status}; only arbitration is decided.")
    _checked_split(milestone, freelancer_amount, refund_amount)
    dispute.decision_note = note
    _resolve(uow, contract, milestone, dispute, "arbitrated", freelancer_amount=freelancer_amount,
             refund_amount=refund_amount)


def withdraw(uow, contract: Contract, milestone: Milestone, dispute: Dispute, party: str) -> None:
    """The freelancer gives in (the request is executed as asked), or the client drops the claim."""
    if dispute.status == "resolved":
        raise Conflict("The dispute is resolved.")
    _require_before_deadline(dispute)
    if party == "freelancer":
        _resolve(uow, contract, milestone, dispute, "withdrawn_by_freelancer",
                 freelancer_amount=dispute.amount - dispute.requested_amount, refund_amount=dispute.requested_amount)
        return
    if contract.status != "active":
        raise Conflict(f"The contract is {contract.status}; its claims go on until they end.")
    _resolve(uow, contract, milestone, dispute, "withdrawn_by_client")
    refunds.give_back(uow, contract, milestone)


def _escalate(uow, dispute: Dispute) -> None:
    DISPUTE.apply(dispute, "arbitration")
    uow.cancel_timer(MEDIATION_OVER, dispute.id)
    _announce(uow, dispute, "escalated")


def _resolve(uow, contract: Contract, milestone: Milestone, dispute: Dispute, resolution: str, *,
             freelancer_amount: int | None = None, refund_amount: int | None = None) -> None:
    DISPUTE.apply(dispute, "resolved")
    dispute.resolution, dispute.resolved_at = resolution, utcnow()
    dispute.freelancer_amount, dispute.refund_amount = freelancer_amount, refund_amount
    uow.cancel_timer(NO_RESPONSE, dispute.id)
    uow.cancel_timer(MEDIATION_OVER, dispute.id)
    if refund_amount is not None:
        sagas.request_split(uow, contract, milestone, refund_amount)
    _announce(uow, dispute, "resolved")


def _payload(contract: Contract) -> dict:
    return {"contract_id": contract.id, "correlation_id": contract.id}


def _announce(uow, dispute: Dispute, what: str) -> None:
    uow.emit(f"contracts.dispute.{what}", {
        "dispute_id": dispute.id, "contract_id": dispute.contract_id, "milestone_id": dispute.milestone_id,
        "refund_request_id": dispute.refund_request_id, "status": dispute.status, "amount": dispute.amount,
        "requested_amount": dispute.requested_amount, "respond_by": dispute.respond_by,
        "accept_by": dispute.accept_by, "resolution": dispute.resolution,
        "freelancer_amount": dispute.freelancer_amount, "refund_amount": dispute.refund_amount,
    }, correlation_id=dispute.contract_id)


def _locked(uow, timer) -> tuple[Contract, Milestone, Dispute] | None:
    contract = sagas.locked_contract(uow, timer.payload["contract_id"])
    dispute = uow.session.get(Dispute, timer.key)
    if contract is None or dispute is None:
        return None
    milestone = contract.milestone(dispute.milestone_id)
    return (contract, milestone, dispute) if milestone is not None else None


def response_due(timer, uow) -> None:
    """DISPUTE_RESPONSE_WINDOW passed with no response: all goes to the freelancer (less any discount)."""
    found = _locked(uow, timer)
    if found is None:
        return
    contract, milestone, dispute = found
    if dispute.status == "open" and dispute.respond_by <= utcnow():
        discount = milestone.discount_amount or 0
        _resolve(uow, contract, milestone, dispute, "no_response", freelancer_amount=milestone.amount - discount,
                 refund_amount=discount)


def acceptance_due(timer, uow) -> None:
    """MEDIATION_ACCEPT_WINDOW passed without both accepting: the dispute goes to arbitration."""
    found = _locked(uow, timer)
    if found is None:
        return
    _, _, dispute = found
    if dispute.status == "mediation" and dispute.accept_by is not None and dispute.accept_by <= utcnow():
        _escalate(uow, dispute)


TIMERS = {
    NO_RESPONSE: response_due,
    MEDIATION_OVER: acceptance_due,
}
