"""What contracts reacts to: the answers of jobs, payments and users, and its own timers."""
from __future__ import annotations

from services.contracts import sagas
from services.contracts.models import Contract, Milestone
from shared.errors import NotReady


def _contract(uow, contract_id: str) -> Contract:
    contract = sagas.locked_contract(uow, contract_id)
    if contract is None:
        # Ordering: jobs.hire.requested may still be on its way (or being retried).
        raise NotReady(f"contract {contract_id} does not exist yet")
    return contract


def _milestone(uow, data: dict) -> tuple[Contract, Milestone]:
    contract = _contract(uow, data["contract_id"])
    milestone = contract.milestone(data["milestone_id"])
    if milestone is None:
        raise NotReady(f"milestone {data['milestone_id']} of contract {contract.id} does not exist yet")
    return contract, milestone


def open_contract(event, uow) -> None:
    """A client hired a freelancer: make the contract and ask for its first milestone's escrow."""
    sagas.create_contract(uow, event.data)


def record_escrow_funded(event, uow) -> None:
    """The milestone's money is in escrow."""
    sagas.record_funding(uow, *_milestone(uow, event.data))


def record_escrow_funding_failed(event, uow) -> None:
    """The milestone's money could not be taken (nothing was charged)."""
    sagas.record_funding_failure(uow, *_milestone(uow, event.data), event.data["reason"])


def record_escrow_released(event, uow) -> None:
    """The milestone's escrow reached the freelancer."""
    sagas.record_release(uow, *_milestone(uow, event.data))


def record_escrow_refunded(event, uow) -> None:
    """The milestone's escrow and client fee went back to the client."""
    sagas.record_refund(uow, *_milestone(uow, event.data))


def end_contracts_of_suspended_user(event, uow) -> None:
    """A suspended user's offers are withdrawn and active contracts ended (party_suspended)."""
    sagas.end_for_suspension(uow, event.data["user_id"])


def expire_offer(timer, uow) -> None:
    contract = sagas.locked_contract(uow, timer.key)
    if contract is not None:
        sagas.expire_offer(uow, contract)


def auto_approve(timer, uow) -> None:
    contract = sagas.locked_contract(uow, timer.payload["contract_id"])
    milestone = contract.milestone(timer.key) if contract is not None else None
    if milestone is not None:
        sagas.auto_approve(uow, contract, milestone)


def settle_cancellation(timer, uow) -> None:
    contract = sagas.locked_contract(uow, timer.key)
    if contract is not None:
        sagas.settle(uow, contract)


HANDLERS = {
    "jobs.hire.requested": open_contract,
    "payments.escrow.funded": record_escrow_funded,
    "payments.escrow.funding_failed": record_escrow_funding_failed,
    "payments.escrow.released": record_escrow_released,
    "payments.escrow.refunded": record_escrow_refunded,
    "users.user.suspended": end_contracts_of_suspended_user,
}

TIMERS = {
    sagas.OFFER_EXPIRY: expire_offer,
    sagas.AUTO_APPROVE: auto_approve,
    sagas.SETTLE: settle_cancellation,
}
