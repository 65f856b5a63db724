"""The rules of reviews: windows open when a contract ends, double-blind submission, publication."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from services.reviews.models import Review, ReviewWindow
from services.reviews.states import REVIEW, WINDOW
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound
from shared.ids import new_id

CLOSE_WINDOW = "reviews.window.close"
NOT_ENDED = "This contract has not ended, or is not known to reviews yet; it cannot be reviewed."


def open_window(uow, *, contract_id: str, client_id: str, freelancer_id: str) -> ReviewWindow:
    """Open the contract's review window once; a repeated end event neither reopens nor extends it."""
    window = uow.session.get(ReviewWindow, contract_id)
    if window is not None:
        return window
    now = utcnow()
    window = ReviewWindow(contract_id=contract_id, client_id=client_id, freelancer_id=freelancer_id,
                          status="open", opened_at=now, closes_at=now + uow.settings.review_window)
    uow.session.add(window)
    uow.session.flush()
    uow.schedule(CLOSE_WINDOW, contract_id, window.closes_at,
                 {"contract_id": contract_id, "correlation_id": contract_id})
    return window


def submit(uow, *, reviewer_id: str, contract_id: str, rating: int, comment: str) -> Review:
    """Write the caller's hidden review; the second of the two publishes both."""
    # Locking: the window row serializes both parties, so two reviews arriving at once
    # publish exactly once (SQLite already serializes writers).
    window = _locked_window(uow, contract_id)
    if window is None:
        raise Conflict(NOT_ENDED)
    if not window.is_party(reviewer_id):
        raise Forbidden("Only the client and the freelancer of this contract may review it.")
    reviews = _reviews_of(uow.session, contract_id)
    if any(review.reviewer_id == reviewer_id for review in reviews):
        raise Conflict("You have already reviewed this contract.")
    if window.status != "open" or utcnow() >= window.closes_at:
        raise Conflict("The review window of this contract is closed.")
    review = Review(id=new_id(), contract_id=contract_id, reviewer_id=reviewer_id,
                    reviewee_id=window.other_party(reviewer_id), rating=rating, comment=comment,
                    status="hidden", created_at=utcnow())
    uow.session.add(review)
    uow.session.flush()
    # Correlation: reviews close a contract's story, so their events carry the contract id.
    uow.emit("reviews.review.submitted", {"review_id": review.id, "contract_id": contract_id,
                                          "reviewer_id": reviewer_id, "reviewee_id": review.reviewee_id},
             correlation_id=contract_id)
    if reviews:
        # Locking: the close timer is left to fire and find the window closed; deleting it here
        # would take its row after the window's, the reverse of the timer loop's order.
        _close(uow, window, [*reviews, review])
    return review


def close_window(uow, contract_id: str) -> None:
    """The window's time is up: publish what was written; moot once already closed."""
    window = _locked_window(uow, contract_id)
    if window is None or window.status != "open":
        return
    _close(uow, window, _reviews_of(uow.session, contract_id))


def _locked_window(uow, contract_id: str) -> ReviewWindow | None:
    return uow.session.scalar(uow.for_update(sa.select(ReviewWindow).where(ReviewWindow.contract_id == contract_id)))


def _close(uow, window: ReviewWindow, reviews: list[Review]) -> None:
    now = utcnow()
    WINDOW.apply(window, "closed")
    window.closed_at = now
    hidden = [review for review in reviews if review.status == "hidden"]
    for review in hidden:
        REVIEW.apply(review, "published")
        review.published_at = now
    if hidden:
        uow.emit("reviews.reviews.published",
                 {"contract_id": window.contract_id, "review_ids": [review.id for review in hidden]},
                 correlation_id=window.contract_id)


def _reviews_of(session, contract_id: str) -> list[Review]:
    return list(session.scalars(sa.select(Review).where(Review.contract_id == contract_id).order_by(Review.created_at)))


def about_user(user_id: str):
    """Published reviews about `user_id` (hidden ones never leave the service)."""
    return sa.select(Review).where(Review.reviewee_id == user_id, Review.status == "published")


def of_contract(session, contract_id: str, caller_id: str):
    """The caller's own review of the contract and the other party's once published."""
    window = session.get(ReviewWindow, contract_id)
    if window is None or not window.is_party(caller_id):
        raise NotFound("No such contract among your reviewable contracts.")
    return sa.select(Review).where(Review.contract_id == contract_id,
                                   sa.or_(Review.reviewer_id == caller_id, Review.status == "published"))


def summary(session, user_id: str) -> dict:
    """Average rating (rounded half up to 2 decimals; null when none) and count, over published reviews."""
    total, count = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Review.rating), 0), sa.func.count(Review.id))
        .where(Review.reviewee_id == user_id, Review.status == "published")).one()
    average = None
    if count:
        average = float((Decimal(int(total)) / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return {"user_id": user_id, "average_rating": average, "review_count": count}
