"""What reviews reacts to: contracts that end open a review window; its timer closes it."""
from __future__ import annotations

from services.reviews import reviewing


def open_review_window(event, uow) -> None:
    """A completed contract may be reviewed by both parties."""
    data = event.data
    reviewing.open_window(uow, contract_id=data["contract_id"], client_id=data["client_id"],
                          freelancer_id=data["freelancer_id"])


def open_review_window_if_paid(event, uow) -> None:
    """A cancelled contract may be reviewed only if some money was released before it ended."""
    if event.data["released_amount"] > 0:
        open_review_window(event, uow)


def close_review_window(timer, uow) -> None:
    """The window's time is up: what was written is published; moot if both already were."""
    reviewing.close_window(uow, timer.payload["contract_id"])


HANDLERS = {
    "contracts.contract.completed": open_review_window,
    "contracts.contract.cancelled": open_review_window_if_paid,
}

TIMERS = {
    reviewing.CLOSE_WINDOW: close_review_window,
}
