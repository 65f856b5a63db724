"""Bonuses: the client pays the freelancer extra on an active or recently ended contract; payments pays
it (with both fees, inside the payout hold) or says why not, and the bonus keeps that outcome."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from services.contracts.models import Contract
from services.contracts.records import Bonus
from shared.db import utcnow
from shared.errors import Conflict, NotFound, NotReady
from shared.ids import new_id

# A contract that ended longer ago than this takes no more bonuses.
BONUS_AFTER_END = timedelta(days=365)


def request(uow, contract: Contract, *, amount: int, note: str | None) -> Bonus:
    """The client asks payments to pay `amount` (plus the client fee) to the freelancer."""
    if contract.activated_at is None:
        raise Conflict(f"The contract is {contract.status}; a bonus is paid once it has been active.")
    if contract.ended_at is not None and contract.ended_at < utcnow() - BONUS_AFTER_END:
        raise Conflict("The contract ended more than 365 days ago; it takes no more bonuses.")
    bonus = Bonus(id=new_id(), contract_id=contract.id, client_id=contract.client_id,
                  freelancer_id=contract.freelancer_id, amount=amount, note=note, status="pending",
                  created_at=utcnow())
    uow.session.add(bonus)
    uow.session.flush()
    uow.emit("contracts.bonus.requested", {
        "bonus_id": bonus.id, "contract_id": contract.id, "client_id": contract.client_id,
        "freelancer_id": contract.freelancer_id, "amount": amount, "client_fee_bps": contract.client_fee_bps,
        "freelancer_fee_bps": contract.freelancer_fee_bps}, correlation_id=contract.id)
    return bonus


def of_contract(session, contract: Contract, bonus_id: str) -> Bonus:
    bonus = session.get(Bonus, bonus_id)
    if bonus is None or bonus.contract_id != contract.id:
        raise NotFound("No such bonus in this contract.")
    return bonus


def listed(contract: Contract) -> sa.Select:
    """A contract's bonuses (the API pages them newest first)."""
    return sa.select(Bonus).where(Bonus.contract_id == contract.id)


def _pending(uow, bonus_id: str) -> Bonus | None:
    bonus = uow.session.scalar(uow.for_update(sa.select(Bonus).where(Bonus.id == bonus_id)))
    if bonus is None:
        raise NotReady(f"bonus {bonus_id} is not known yet")
    return bonus if bonus.status == "pending" else None  # stale or repeated


def record_bonus_paid(event, uow) -> None:
    """The bonus reached the freelancer's pending money, less the freelancer fee."""
    bonus = _pending(uow, event.data["bonus_id"])
    if bonus is not None:
        bonus.status = "paid"
        bonus.client_fee, bonus.freelancer_fee = event.data["client_fee"], event.data["freelancer_fee"]
        bonus.available_at = event.data["available_at"]


def record_bonus_failed(event, uow) -> None:
    """Nothing moved (the client had too little available money); the bonus never pays."""
    bonus = _pending(uow, event.data["bonus_id"])
    if bonus is not None:
        bonus.status, bonus.failure_reason = "failed", event.data["reason"]


# Bonus
#   1. client asks                    request: pending, contracts.bonus.requested
#   2. payments.bonus.paid / .failed  record_bonus_paid / record_bonus_failed: paid or failed, for good
BONUS = {
    "payments.bonus.paid": record_bonus_paid,
    "payments.bonus.failed": record_bonus_failed,
}
