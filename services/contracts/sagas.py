"""The sagas contracts owns: each one's steps, and at the end the map of what each reacts to.

Every step is one transaction under the contract's row lock (`locked_contract`). A saga's map sends
an event to the step that answers it; `handlers.py` joins the four maps into the service's registry.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from services.contracts import refunds
from services.contracts.hourly_models import unsettled
from services.contracts.models import Contract, Milestone
from services.contracts.states import (CLAIMED, CONTRACT, ENDED, HOLDING, IN_FLIGHT, MILESTONE, OPEN, REFUNDABLE,
                                       SETTLED, WORKED)
from shared.db import utcnow
from shared.errors import Conflict, NotReady
from shared.ids import new_id
from shared.suspensions import listed as suspended

OFFER_EXPIRY = "contracts.offer.expire"
AUTO_APPROVE = "contracts.milestone.auto_approve"
SETTLE = "contracts.contract.settle_cancellation"
# Bounded: a contract lists at most this many milestones (a hire brings 1..20; adding a 21st is 409).
MAX_MILESTONES = 20
RESEND_REQUEST = "contracts.milestone.resend_request"
RESEND_CANCELLATION = "contracts.contract.resend_cancellation"

# What each in-flight milestone asked payments, and so what is sent again past its deadline.
REQUESTS = {"funding": "contracts.milestone.funding_requested", "approved": "contracts.milestone.approved",
            "refunding": "contracts.milestone.refund_requested", "splitting": "contracts.milestone.split_requested"}


def locked_contract(uow, contract_id: str) -> Contract | None:
    """The contract with its row locked: every change to one contract goes through here first."""
    return uow.session.scalar(uow.for_update(sa.select(Contract).where(Contract.id == contract_id)))


def _emit(uow, contract: Contract, type_: str, data: dict) -> None:
    uow.emit(type_, data, correlation_id=contract.id)


def _timer_payload(contract: Contract, **extra) -> dict:
    return {"contract_id": contract.id, "correlation_id": contract.id, **extra}


def _require_active(contract: Contract) -> None:
    if contract.type == "hourly":
        raise Conflict("An hourly contract has no milestones; it is billed by its time entries.")
    if contract.status != "active":
        raise Conflict(f"The contract is {contract.status}; milestones move only while it is active.")


def _require_unclaimed(milestone: Milestone) -> None:
    if milestone.status in CLAIMED:
        raise Conflict(f"The milestone is {milestone.status}; nothing moves it until its claim ends.")


def _contract(uow, contract_id: str) -> Contract:
    contract = locked_contract(uow, contract_id)
    if contract is None:
        # Ordering: jobs.hire.requested may still be on its way (or being retried).
        raise NotReady(f"contract {contract_id} does not exist yet")
    return contract


def milestone_of(uow, data: dict) -> tuple[Contract, Milestone]:
    contract = _contract(uow, data["contract_id"])
    milestone = contract.milestone(data["milestone_id"])
    if milestone is None:
        raise NotReady(f"milestone {data['milestone_id']} of contract {contract.id} does not exist yet")
    return contract, milestone


# Hiring

def create_contract(uow, hire: dict) -> Contract | None:
    """Hiring 1: the contract in pending_funding, fee rates copied from config, the first milestone funding.

    A hire of (or by) an account suspended by now is refused: the contract ends at once
    (`party_suspended`) without funding anything, and jobs declines the proposal. An hourly hire
    holds no money up front: it is offered at once (billing.py bills it by the period)."""
    if uow.session.get(Contract, hire["contract_id"]) is not None:
        return None  # the same hire delivered twice makes one contract
    now = utcnow()
    contract = Contract(
        id=hire["contract_id"], job_id=hire["job_id"], proposal_id=hire["proposal_id"], client_id=hire["client_id"],
        freelancer_id=hire["freelancer_id"], title=hire["title"][:200], currency="USD", status="pending_funding",
        client_fee_bps=uow.settings.client_fee_bps, freelancer_fee_bps=uow.settings.freelancer_fee_bps,
        released_amount=0, created_at=now, milestones=[], type=hire.get("type", "fixed"))
    if contract.type == "hourly":
        contract.hourly_rate, contract.pause_reasons, contract.invoiced_amount = hire["hourly_rate"], [], 0
        contract.weekly_limits = [{"from": None, "hours": hire["weekly_limit_hours"]}]
    for position, item in enumerate(hire["milestones"]):
        contract.milestones.append(Milestone(
            id=item["milestone_id"], position=position, title=item["title"][:200], amount=item["amount"],
            due_date=item.get("due_date"), status="pending", created_at=now))
    uow.session.add(contract)
    uow.session.flush()
    _emit(uow, contract, "contracts.contract.created", {
        **contract.parties, "client_fee_bps": contract.client_fee_bps,
        "freelancer_fee_bps": contract.freelancer_fee_bps, "total_amount": contract.total_amount,
        "type": contract.type, "hourly_rate": contract.hourly_rate,
        "weekly_limit_hours": hire.get("weekly_limit_hours")})
    if suspended(uow.session, contract.client_id) or suspended(uow.session, contract.freelancer_id):
        begin_cancellation(uow, contract, "party_suspended")
        return contract
    if contract.type == "hourly":
        offer(uow, contract)
        return contract
    request_funding(uow, contract, contract.milestones[0])
    return contract


def offer(uow, contract: Contract) -> None:
    """Hiring 2: the first milestone is funded; the freelancer has OFFER_TTL to accept."""
    CONTRACT.apply(contract, "offered")
    contract.offer_expires_at = utcnow() + uow.settings.offer_ttl
    uow.schedule(OFFER_EXPIRY, contract.id, contract.offer_expires_at, _timer_payload(contract))
    _emit(uow, contract, "contracts.contract.offered",
          {**contract.parties, "offer_expires_at": contract.offer_expires_at})


def accept(uow, contract: Contract) -> None:
    """Hiring 3: the freelancer takes the offer; it no longer expires."""
    # Race: an offer past its expiry is lost even if the expiry timer has not fired yet, so
    # exactly one of accept and expiry wins, decided by the clock under the row lock.
    if contract.status == "offered" and contract.offer_expires_at <= utcnow():
        raise Conflict("The offer has expired.")
    CONTRACT.apply(contract, "active")
    contract.activated_at = utcnow()
    uow.cancel_timer(OFFER_EXPIRY, contract.id)
    _emit(uow, contract, "contracts.contract.activated", contract.parties)


def decline(uow, contract: Contract, note: str | None) -> None:
    """Hiring 3, the freelancer says no: the funded escrow goes back to the client."""
    if contract.status != "offered":
        raise Conflict(f"The contract is {contract.status}; only an offered contract can be declined.")
    begin_cancellation(uow, contract, "declined", note)


def cancel(uow, contract: Contract, user_id: str, note: str | None) -> None:
    """A party ends the contract: the client withdraws an offer or ends it; the freelancer ends an active one."""
    if contract.status in ENDED:
        raise Conflict(f"The contract is already {contract.status}.")
    by_client = user_id == contract.client_id
    if contract.status in ("active", "paused"):
        reason = "ended_by_client" if by_client else "ended_by_freelancer"
    elif by_client:
        reason = "withdrawn"
    else:
        raise Conflict("An offer is declined by the freelancer (POST /contracts/{id}/decline), not cancelled.")
    begin_cancellation(uow, contract, reason, note)


def expire_offer(uow, contract: Contract) -> None:
    """Hiring 3, nobody answered: an offer still open at its expiry ends as expired."""
    if contract.status == "offered" and contract.offer_expires_at <= utcnow():
        begin_cancellation(uow, contract, "expired")


def end_for_suspension(uow, user_id: str) -> None:
    """A party was suspended: its offers are withdrawn and its active contracts ended."""
    ids = uow.session.scalars(sa.select(Contract.id).where(
        sa.or_(Contract.client_id == user_id, Contract.freelancer_id == user_id),
        Contract.status.in_(OPEN)).order_by(Contract.id))
    for contract_id in list(ids):
        contract = locked_contract(uow, contract_id)
        if contract is not None and contract.status in OPEN:
            begin_cancellation(uow, contract, "party_suspended")


def open_contract(event, uow) -> None:
    """A client hired a freelancer: make the contract and ask for its first milestone's escrow."""
    create_contract(uow, event.data)


def offer_expired(timer, uow) -> None:
    contract = locked_contract(uow, timer.key)
    if contract is not None:
        expire_offer(uow, contract)


# Escrow funding

def add_milestone(uow, contract: Contract, *, title: str, amount: int, due_date: date | None) -> Milestone:
    """A further milestone of an active contract, pending until the client funds it (at most
    MAX_MILESTONES a contract; the contract's row is locked, so two at once cannot both be the 20th)."""
    _require_active(contract)
    if len(contract.milestones) >= MAX_MILESTONES:
        raise Conflict(f"A contract has at most {MAX_MILESTONES} milestones.")
    position = max((m.position for m in contract.milestones), default=-1) + 1  # deleted ones leave gaps
    milestone = Milestone(id=new_id(), position=position, title=title, amount=amount,
                          due_date=due_date, status="pending", created_at=utcnow())
    contract.milestones.append(milestone)
    uow.session.flush()
    return milestone


def fund(uow, contract: Contract, milestone: Milestone) -> None:
    """Escrow funding 1: the client asks payments to move the milestone's amount into escrow."""
    _require_active(contract)
    request_funding(uow, contract, milestone)


def request_funding(uow, contract: Contract, milestone: Milestone) -> None:
    MILESTONE.apply(milestone, "funding")
    milestone.last_error = None
    _arm(uow, contract, milestone)
    _send_request(uow, contract, milestone)


def record_funding(uow, contract: Contract, milestone: Milestone) -> None:
    """payments.escrow.funded: the milestone is funded; an ending contract gets the money back at once."""
    if milestone.status == "cancelled":
        request_refund(uow, contract, milestone)
        return
    if milestone.status != "funding":
        return  # stale or repeated
    MILESTONE.apply(milestone, "funded")
    _disarm(uow, milestone)
    milestone.funded_at = utcnow()
    if contract.status == "pending_funding":
        offer(uow, contract)
    elif contract.status in ENDED:
        request_refund(uow, contract, milestone)


def record_funding_failure(uow, contract: Contract, milestone: Milestone, reason: str) -> None:
    """payments.escrow.funding_failed, the compensation: nothing was charged, so nothing is undone."""
    if milestone.status != "funding":
        return  # stale or repeated
    milestone.last_error = reason
    _disarm(uow, milestone)
    if contract.status == "pending_funding":
        MILESTONE.apply(milestone, "cancelled")
        _cancel_pending(contract)
        contract.end_reason = "funding_failed"
        _end(uow, contract, "cancelled")
    elif contract.status == "active":
        MILESTONE.apply(milestone, "pending")
    else:
        MILESTONE.apply(milestone, "cancelled")
        settle(uow, contract)


def record_escrow_funded(event, uow) -> None:
    """The milestone's money is in escrow (the first milestone's makes the offer)."""
    record_funding(uow, *milestone_of(uow, event.data))


def record_escrow_funding_failed(event, uow) -> None:
    """The milestone's money could not be taken (nothing was charged)."""
    record_funding_failure(uow, *milestone_of(uow, event.data), event.data["reason"])


# Release

def submit(uow, contract: Contract, milestone: Milestone, message: str) -> None:
    """Release 1: the freelancer hands in the work; it is approved by itself after AUTO_APPROVE_AFTER."""
    _require_active(contract)
    _require_unclaimed(milestone)
    MILESTONE.apply(milestone, "submitted")
    milestone.submission_message = message
    milestone.submitted_at = utcnow()
    milestone.auto_approve_at = milestone.submitted_at + uow.settings.auto_approve_after
    uow.schedule(AUTO_APPROVE, milestone.id, milestone.auto_approve_at,
                 _timer_payload(contract, milestone_id=milestone.id))
    _emit(uow, contract, "contracts.milestone.submitted", {
        "contract_id": contract.id, "milestone_id": milestone.id, "auto_approve_at": milestone.auto_approve_at})


def request_changes(uow, contract: Contract, milestone: Milestone, message: str) -> None:
    """Release 1, sent back: the freelancer works on; nothing is approved by itself meanwhile."""
    _require_active(contract)
    _require_unclaimed(milestone)
    MILESTONE.apply(milestone, "changes_requested")
    milestone.changes_message = message
    milestone.auto_approve_at = None
    uow.cancel_timer(AUTO_APPROVE, milestone.id)


def approve(uow, contract: Contract, milestone: Milestone, *, auto: bool = False) -> None:
    """Release 2: payments is asked to release the escrow to the freelancer (less any discount he gave,
    which goes back to the client in the same step: a split)."""
    _require_active(contract)
    release(uow, contract, milestone, auto=auto)


def release(uow, contract: Contract, milestone: Milestone, *, auto: bool = False) -> None:
    MILESTONE.apply(milestone, "approved")
    milestone.asked_refund_amount = milestone.discount_amount or None
    milestone.auto_approve_at = None
    uow.cancel_timer(AUTO_APPROVE, milestone.id)
    _arm(uow, contract, milestone, auto=auto)
    _send_request(uow, contract, milestone, auto=auto)


def auto_approve(uow, contract: Contract, milestone: Milestone) -> None:
    """The AUTO_APPROVE_AFTER timer: a milestone still submitted at its time is approved."""
    if (contract.status == "active" and milestone.status == "submitted" and milestone.auto_approve_at is not None
            and milestone.auto_approve_at <= utcnow()):
        approve(uow, contract, milestone, auto=True)


def record_release(uow, contract: Contract, milestone: Milestone) -> None:
    """Release 3: the money moved; the contract is completed once every milestone is settled."""
    if milestone.status not in ("approved", "splitting"):
        return  # stale or repeated
    MILESTONE.apply(milestone, "released")
    record_shares(uow, contract, milestone, freelancer_amount=milestone.amount, refund_amount=0)


def record_shares(uow, contract: Contract, milestone: Milestone, *, freelancer_amount: int,
                  refund_amount: int) -> None:
    """A milestone's money has all moved: its gross shares are kept, and the contract may settle."""
    milestone.freelancer_amount, milestone.refund_amount = freelancer_amount, refund_amount
    if freelancer_amount:
        milestone.released_at = utcnow()
    _disarm(uow, milestone)
    contract.released_amount += freelancer_amount
    complete_or_settle(uow, contract)


def complete_or_settle(uow, contract: Contract) -> None:
    """An active contract completes once every milestone is settled and something was released (all
    refunded, it stays active); a cancelling one is cancelled once nothing holds it."""
    if contract.status == "active":
        if contract.milestones and contract.released_amount > 0 and all(
                m.status in SETTLED for m in contract.milestones):
            _end(uow, contract, "completed")
    else:
        settle(uow, contract)


def record_escrow_released(event, uow) -> None:
    """The milestone's escrow reached the freelancer."""
    record_release(uow, *milestone_of(uow, event.data))


def auto_approval_due(timer, uow) -> None:
    contract = locked_contract(uow, timer.payload["contract_id"])
    milestone = contract.milestone(timer.key) if contract is not None else None
    if milestone is not None:
        auto_approve(uow, contract, milestone)


# Refund

def begin_cancellation(uow, contract: Contract, reason: str, note: str | None = None) -> None:
    """Refund 1: the contract is cancelling; escrow that nobody can work on any more goes back."""
    CONTRACT.apply(contract, "cancelling")
    contract.end_reason, contract.end_note = reason, note
    contract.cancelling_at, contract.resends = utcnow(), 0
    if contract.type == "hourly":
        contract.pause_reasons = []  # non-empty exactly while paused; its periods are still invoiced
    uow.schedule(RESEND_CANCELLATION, contract.id, contract.cancelling_at + resend_delay(uow.settings, 0),
                 _timer_payload(contract))
    uow.cancel_timer(OFFER_EXPIRY, contract.id)
    for milestone in contract.milestones:
        if milestone.status in REFUNDABLE:
            request_refund(uow, contract, milestone)
        elif milestone.status in WORKED:
            # Work was handed in: the escrow is claimed by a refund request the freelancer can dispute.
            refunds.open_on_ending(uow, contract, milestone)
    _cancel_pending(contract)
    if not _in_flight(contract):
        # The answer to a cancel is always `cancelling`; the worker settles it right after.
        uow.schedule(SETTLE, contract.id, utcnow(), _timer_payload(contract))


def request_refund(uow, contract: Contract, milestone: Milestone) -> None:
    MILESTONE.apply(milestone, "refunding")
    milestone.auto_approve_at = None
    uow.cancel_timer(AUTO_APPROVE, milestone.id)
    _arm(uow, contract, milestone)
    _send_request(uow, contract, milestone)


def request_split(uow, contract: Contract, milestone: Milestone, refund_amount: int) -> None:
    """A claim ended with money: payments empties the escrow in one step, `refund_amount` to the client."""
    MILESTONE.apply(milestone, "splitting")
    milestone.asked_refund_amount = refund_amount
    milestone.auto_approve_at = None
    uow.cancel_timer(AUTO_APPROVE, milestone.id)
    _arm(uow, contract, milestone)
    _send_request(uow, contract, milestone)


def record_split(uow, contract: Contract, milestone: Milestone, *, freelancer_amount: int,
                 refund_amount: int) -> None:
    """payments.escrow.split: the escrow went to both parties at once."""
    if milestone.status not in ("splitting", "approved"):
        return  # stale or repeated
    MILESTONE.apply(milestone, "split")
    record_shares(uow, contract, milestone, freelancer_amount=freelancer_amount, refund_amount=refund_amount)


def record_refund(uow, contract: Contract, milestone: Milestone) -> None:
    """Refund 2: the escrow and the client fee are back with the client."""
    if milestone.status not in ("refunding", "splitting", "approved"):
        return  # stale or repeated
    MILESTONE.apply(milestone, "refunded")
    record_shares(uow, contract, milestone, freelancer_amount=0, refund_amount=milestone.amount)


def settle(uow, contract: Contract) -> None:
    """Refund 3: once nothing is in flight, a cancelling contract is cancelled (never completed); an hourly
    one once every period with entries is invoiced and every invoice released or resolved."""
    if contract.status == "cancelling" and not _in_flight(contract) and not unsettled(uow.session, contract):
        _end(uow, contract, "cancelled")


def _in_flight(contract: Contract) -> bool:
    return any(milestone.status in HOLDING for milestone in contract.milestones)


def _cancel_pending(contract: Contract) -> None:
    for milestone in contract.milestones:
        if milestone.status == "pending":
            MILESTONE.apply(milestone, "cancelled")


def _end(uow, contract: Contract, status: str) -> None:
    CONTRACT.apply(contract, status)
    contract.ended_at = utcnow()
    uow.cancel_timer(OFFER_EXPIRY, contract.id)
    uow.cancel_timer(RESEND_CANCELLATION, contract.id)
    if status == "completed":
        _emit(uow, contract, "contracts.contract.completed", {
            "contract_id": contract.id, "job_id": contract.job_id, "client_id": contract.client_id,
            "freelancer_id": contract.freelancer_id, "released_amount": contract.released_amount})
    else:
        _emit(uow, contract, "contracts.contract.cancelled", {
            **contract.parties, "end_reason": contract.end_reason, "end_note": contract.end_note,
            "released_amount": contract.released_amount})


def record_escrow_refunded(event, uow) -> None:
    """The milestone's escrow and client fee went back to the client."""
    record_refund(uow, *milestone_of(uow, event.data))


def end_contracts_of_suspended_user(event, uow) -> None:
    """A suspended user's offers are withdrawn and active contracts ended (party_suspended)."""
    end_for_suspension(uow, event.data["user_id"])


def settlement_due(timer, uow) -> None:
    contract = locked_contract(uow, timer.key)
    if contract is not None:
        settle(uow, contract)


# Deadlines: every in-flight step (a milestone funding, approved or refunding; a contract
# cancelling) has one. Past it, the milestone's request is sent again, which is safe: payments
# answers a repeated request with what the money really did (its journal keys move it once).
# The next deadline is twice as far, up to SAGA_RESEND_MAX; any answer disarms it.

def resend_delay(settings, resends: int) -> timedelta:
    """How long after the last sending the next re-send is due: SAGA_RESEND_AFTER doubled per re-send so
    far, never more than SAGA_RESEND_MAX."""
    first, cap = settings.saga_resend_after, settings.saga_resend_max
    if resends >= 64 or first * 2 ** resends >= cap:  # the exponent is bounded before it can overflow
        return cap
    return first * 2 ** resends


def deadline(settings, since: datetime, resends: int) -> datetime:
    """When a step that began at `since` and has been sent again `resends` times is next due: the sum of
    the delays so far, so each wait is twice the one before."""
    return since + sum((resend_delay(settings, n) for n in range(resends + 1)), timedelta(0))


def _arm(uow, contract: Contract, milestone: Milestone, **extra) -> None:
    """A request goes out: its answer is due by SAGA_RESEND_AFTER, or it is sent again."""
    milestone.requested_at, milestone.resends = utcnow(), 0
    uow.schedule(RESEND_REQUEST, milestone.id, milestone.requested_at + resend_delay(uow.settings, 0),
                 _timer_payload(contract, milestone_id=milestone.id, status=milestone.status, **extra))


def _disarm(uow, milestone: Milestone) -> None:
    uow.cancel_timer(RESEND_REQUEST, milestone.id)


def _send_request(uow, contract: Contract, milestone: Milestone, *, auto: bool = False) -> None:
    ids = {"contract_id": contract.id, "milestone_id": milestone.id, "client_id": contract.client_id}
    if milestone.status == "funding":
        data = {**ids, "freelancer_id": contract.freelancer_id, "amount": milestone.amount,
                "client_fee_bps": contract.client_fee_bps}
    elif milestone.status == "splitting" or (milestone.status == "approved" and milestone.asked_refund_amount):
        _emit(uow, contract, REQUESTS["splitting"], refunds.split_data(contract, milestone))
        return
    elif milestone.status == "approved":
        data = {**ids, "freelancer_id": contract.freelancer_id, "amount": milestone.amount,
                "freelancer_fee_bps": contract.freelancer_fee_bps, "auto": auto}
    else:
        data = {**ids, "amount": milestone.amount}
    _emit(uow, contract, REQUESTS[milestone.status], data)


def resend_request(uow, contract: Contract, milestone: Milestone, *, auto: bool = False) -> None:
    """Past its deadline and still unanswered: the milestone's request goes to payments again, and the
    next deadline is set twice as far."""
    if milestone.status not in IN_FLIGHT:
        return  # answered meanwhile
    milestone.requested_at = milestone.requested_at or utcnow()
    milestone.resends = (milestone.resends or 0) + 1
    _send_request(uow, contract, milestone, auto=auto)
    uow.schedule(RESEND_REQUEST, milestone.id, deadline(uow.settings, milestone.requested_at, milestone.resends),
                 _timer_payload(contract, milestone_id=milestone.id, status=milestone.status, auto=auto))


def recheck_cancellation(uow, contract: Contract) -> None:
    """A contract still cancelling past its deadline: settled if nothing is in flight any more; otherwise
    it waits for its milestones, whose own re-sends ask payments again, and is looked at again later."""
    if contract.status != "cancelling":
        return
    settle(uow, contract)
    if contract.status == "cancelling":
        contract.resends = (contract.resends or 0) + 1
        uow.schedule(RESEND_CANCELLATION, contract.id,
                     deadline(uow.settings, contract.cancelling_at or utcnow(), contract.resends),
                     _timer_payload(contract))


def request_due(timer, uow) -> None:
    contract = locked_contract(uow, timer.payload["contract_id"])
    milestone = contract.milestone(timer.key) if contract is not None else None
    if milestone is not None:
        resend_request(uow, contract, milestone, auto=bool(timer.payload.get("auto")))


def cancellation_due(timer, uow) -> None:
    contract = locked_contract(uow, timer.key)
    if contract is not None:
        recheck_cancellation(uow, contract)


# The saga map: each saga's steps, and what it reacts to. An event two sagas share has one handler,
# which tells them apart by the contract's state: payments.escrow.funded makes the offer (Hiring) or
# funds a later milestone (Escrow funding).

# Hiring
#   1. jobs.hire.requested            create_contract: pending_funding, first milestone funding
#   2. payments.escrow.funded         record_funding → offer: offered, offer-expiry timer
#      payments.escrow.funding_failed record_funding_failure (compensation): cancelled, funding_failed
#   3. freelancer accepts             accept: active
#      declines / client withdraws / the offer expires: begin_cancellation → Refund
HIRING = {
    "jobs.hire.requested": open_contract,
    "payments.escrow.funded": record_escrow_funded,
    "payments.escrow.funding_failed": record_escrow_funding_failed,
}

# Escrow funding (later milestones)
#   1. client funds                   fund → request_funding: funding
#   2. payments.escrow.funded         record_funding: funded
#      payments.escrow.funding_failed record_funding_failure (compensation): back to pending, last_error
FUNDING = {
    "payments.escrow.funded": record_escrow_funded,
    "payments.escrow.funding_failed": record_escrow_funding_failed,
}

# Release
#   1. freelancer submits             submit: submitted, auto-approve timer (request_changes sends it back)
#   2. client approves, or the timer  approve: approved
#   3. payments.escrow.released       record_release: released; complete once every milestone is released
RELEASE = {
    "payments.escrow.released": record_escrow_released,
}

# Refund
#   1. any end before completion      begin_cancellation: cancelling; request_refund for every funded,
#                                     submitted or changes_requested milestone, pending ones cancelled;
#                                     approved ones finish their release, a funding one waits for its answer
#      users.user.suspended           end_for_suspension: the same, for every open contract of the user,
#                                     offers to and from them and active contracts alike
#   2. payments.escrow.refunded       record_refund: refunded
#   3. nothing left in flight         settle: cancelled
REFUND = {
    "users.user.suspended": end_contracts_of_suspended_user,
    "payments.escrow.refunded": record_escrow_refunded,
}

TIMERS = {
    OFFER_EXPIRY: offer_expired,  # Hiring 3
    AUTO_APPROVE: auto_approval_due,  # Release 2
    SETTLE: settlement_due,  # Refund 3
    RESEND_REQUEST: request_due,  # every in-flight milestone, past its deadline
    RESEND_CANCELLATION: cancellation_due,  # a cancelling contract, past its deadline
}
