"""The rules of reviews: a window per ended contract, double-blind until both reviewed or time is up."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.reviews import SERVICE, reviewing
from services.reviews.models import Review, ReviewWindow
from services.reviews.states import REVIEW
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, IllegalTransition, NotFound
from tests.unit.conftest import SETTINGS
from tests.unit.fakes import delivered, new_id

SETTING = SETTINGS["reviews"]


@pytest.fixture
def uow(make_uow):
    return make_uow(SERVICE)


@pytest.fixture
def window(uow) -> ReviewWindow:
    opened = reviewing.open_window(uow, contract_id=new_id(), client_id=new_id(), freelancer_id=new_id())
    uow.forget()
    return opened


def review(uow, window: ReviewWindow, reviewer_id: str, rating: int = 5) -> Review:
    return reviewing.submit(uow, reviewer_id=reviewer_id, contract_id=window.contract_id, rating=rating,
                            comment="Good work")


class TestOpenWindow:
    def test_an_ended_contract_opens_a_window_that_closes_after_the_review_window(self, uow):
        contract = new_id()

        window = reviewing.open_window(uow, contract_id=contract, client_id=new_id(), freelancer_id=new_id())

        assert window.status == "open"
        assert window.closes_at == window.opened_at + SETTING.review_window
        timer = uow.timer(reviewing.CLOSE_WINDOW, contract)
        assert timer.due_at == window.closes_at
        assert timer.payload == {"contract_id": contract, "correlation_id": contract}

    def test_a_repeated_end_neither_reopens_nor_extends_the_window(self, uow, window):
        again = reviewing.open_window(uow, contract_id=window.contract_id, client_id=window.client_id,
                                      freelancer_id=window.freelancer_id)

        assert again is window
        assert uow.scheduled == []

    @pytest.mark.parametrize("released_amount, opens", [(0, False), (1, True)])
    def test_a_cancelled_contract_is_reviewable_only_if_money_was_released(self, uow, released_amount, opens):
        event = delivered("contracts.contract.cancelled", {
            "contract_id": new_id(), "job_id": new_id(), "proposal_id": new_id(), "client_id": new_id(),
            "freelancer_id": new_id(), "end_reason": "ended_by_client", "end_note": None,
            "released_amount": released_amount})

        SERVICE.handlers[event.type](event, uow)

        assert (uow.session.get(ReviewWindow, event.data["contract_id"]) is not None) is opens


class TestSubmitReview:
    def test_the_first_review_stays_hidden(self, uow, window):
        first = review(uow, window, window.client_id)

        assert (first.status, first.reviewee_id) == ("hidden", window.freelancer_id)
        assert uow.types() == ["reviews.review.submitted"]
        assert uow.emitted[0].correlation_id == window.contract_id
        assert window.status == "open"

    def test_the_second_review_publishes_both_and_closes_the_window(self, uow, window):
        first = review(uow, window, window.client_id)
        uow.forget()

        second = review(uow, window, window.freelancer_id, rating=4)

        assert (first.status, second.status, window.status) == ("published", "published", "closed")
        assert uow.types() == ["reviews.review.submitted", "reviews.reviews.published"]
        assert uow.event("reviews.reviews.published")["review_ids"] == [first.id, second.id]

    def test_only_the_parties_review(self, uow, window):
        with pytest.raises(Forbidden):
            review(uow, window, new_id())

    def test_a_contract_without_a_window_cannot_be_reviewed(self, uow):
        with pytest.raises(Conflict, match="not ended"):
            reviewing.submit(uow, reviewer_id=new_id(), contract_id=new_id(), rating=5, comment="")

    def test_a_party_reviews_once(self, uow, window):
        review(uow, window, window.client_id)

        with pytest.raises(Conflict, match="already reviewed"):
            review(uow, window, window.client_id)

    def test_a_window_past_its_time_takes_no_review_even_before_its_timer_fires(self, uow, window):
        window.closes_at = utcnow() - timedelta(seconds=1)

        with pytest.raises(Conflict, match="closed"):
            review(uow, window, window.client_id)


class TestCloseWindow:
    def test_at_the_windows_time_what_was_written_is_published(self, uow, window):
        lonely = review(uow, window, window.client_id)
        uow.forget()

        uow.fire(reviewing.CLOSE_WINDOW, window.contract_id, SERVICE.timers)

        assert (window.status, lonely.status) == ("closed", "published")
        assert uow.event("reviews.reviews.published")["review_ids"] == [lonely.id]

    def test_a_window_nobody_wrote_in_closes_quietly(self, uow, window):
        reviewing.close_window(uow, window.contract_id)

        assert window.status == "closed"
        assert uow.emitted == []

    def test_a_timer_for_a_window_closed_already_is_moot(self, uow, window):
        review(uow, window, window.client_id)
        review(uow, window, window.freelancer_id)
        uow.forget()

        reviewing.close_window(uow, window.contract_id)

        assert uow.emitted == []

    def test_a_published_review_never_goes_back_to_hidden(self, uow, window):
        written = review(uow, window, window.client_id)
        reviewing.close_window(uow, window.contract_id)

        with pytest.raises(IllegalTransition):
            REVIEW.apply(written, "hidden")


class TestWhoSeesWhat:
    @staticmethod
    def seen(uow, window: ReviewWindow, caller_id: str) -> list[str]:
        query = reviewing.of_contract(uow.session, window.contract_id, caller_id)
        return [row.id for row in uow.session.scalars(query)]

    def test_the_other_partys_review_is_seen_only_once_published(self, uow, window):
        theirs = review(uow, window, window.freelancer_id)

        assert self.seen(uow, window, window.freelancer_id) == [theirs.id]
        assert self.seen(uow, window, window.client_id) == []
        reviewing.close_window(uow, window.contract_id)
        assert self.seen(uow, window, window.client_id) == [theirs.id]

    def test_a_stranger_is_told_the_contract_is_not_among_theirs(self, uow, window):
        with pytest.raises(NotFound):
            reviewing.of_contract(uow.session, window.contract_id, new_id())


class TestSummary:
    @pytest.mark.parametrize("ratings, average", [((5, 4, 4), 4.33), ((5, 4), 4.5), ((1, 2, 2), 1.67), ((), None)])
    def test_the_average_is_rounded_half_up_to_two_decimals_over_published_reviews(self, uow, ratings, average):
        user = new_id()
        for rating in ratings:
            window = reviewing.open_window(uow, contract_id=new_id(), client_id=new_id(), freelancer_id=user)
            review(uow, window, window.client_id, rating=rating)
            reviewing.close_window(uow, window.contract_id)
        hidden = reviewing.open_window(uow, contract_id=new_id(), client_id=new_id(), freelancer_id=user)
        review(uow, hidden, hidden.client_id, rating=1)

        assert reviewing.summary(uow.session, user) == {"user_id": user, "average_rating": average,
                                                        "review_count": len(ratings)}
