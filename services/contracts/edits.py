"""Milestone edits: the client changes or deletes a milestone nobody has funded yet."""
from __future__ import annotations

from services.contracts import sagas
from services.contracts.models import Contract, Milestone
from shared.errors import Conflict


def _require_editable(contract: Contract, milestone: Milestone) -> None:
    if contract.status != "active":
        raise Conflict(f"The contract is {contract.status}; milestones are edited only while it is active.")
    if milestone.status != "pending":
        raise Conflict(f"The milestone is {milestone.status}; only a pending milestone is edited or deleted.")


def edit(uow, contract: Contract, milestone: Milestone, changes: dict) -> None:
    """`title`, `amount` and `due_date` of a pending milestone of an active contract."""
    _require_editable(contract, milestone)
    for field, value in changes.items():
        setattr(milestone, field, value)


def delete(uow, contract: Contract, milestone: Milestone) -> None:
    """A pending milestone is gone; the contract completes if everything left is settled."""
    _require_editable(contract, milestone)
    contract.milestones.remove(milestone)
    uow.session.flush()
    sagas.complete_or_settle(uow, contract)
