"""What reviews does with contracts' end events, and the events it puts on the bus."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

from shared.consumer import Outcome
from tests.support import eventually


class TestOpenReviewWindow:
    def test_a_completed_contract_opens_a_window_for_its_parties(self, reviews):
        contract = reviews.contract_ended()

        window = reviews.window(contract.id)
        assert (window.client_id, window.freelancer_id, window.status) == (contract.client_id, contract.freelancer_id, "open")
        assert window.closes_at - window.opened_at == reviews.harness.service_settings.review_window
        [timer] = reviews.timers(contract.id)
        assert timer.due_at == window.closes_at

    def test_the_same_event_twice_has_one_effect(self, reviews):
        contract = reviews.new_contract()
        event = reviews.end_event(contract)

        assert reviews.harness.deliver(event).outcome is Outcome.HANDLED
        assert reviews.harness.deliver(event).outcome is Outcome.DUPLICATE

    def test_a_repeated_end_does_not_extend_the_window(self, reviews):
        contract = reviews.contract_ended()
        before = reviews.window(contract.id).closes_at

        time.sleep(0.01)
        assert reviews.harness.deliver(reviews.end_event(contract)).outcome is Outcome.HANDLED

        assert reviews.window(contract.id).closes_at == before
        assert [timer.due_at for timer in reviews.timers(contract.id)] == [before]

    def test_a_repeated_end_does_not_reopen_a_closed_window(self, reviews):
        contract = reviews.contract_ended()
        reviews.reviewed(contract.client_id, contract.id)
        reviews.reviewed(contract.freelancer_id, contract.id)

        for how in ("completed", "cancelled"):
            assert reviews.harness.deliver(reviews.end_event(contract, how)).outcome is Outcome.HANDLED

        assert reviews.window(contract.id).status == "closed"
        assert reviews.submit(contract.client_id, contract.id).status_code == 409

    def test_a_cancellation_with_nothing_released_opens_nothing(self, reviews):
        contract = reviews.contract_ended("cancelled", released_amount=0)

        assert reviews.window(contract.id) is None
        assert reviews.timers(contract.id) == []


@pytest.mark.amqp
@pytest.mark.postgres
class TestOnTheBus:
    def test_a_completed_contract_opens_reviews(self, reviews_live):
        contract = reviews_live.new_contract()

        reviews_live.harness.publish("contracts.contract.completed", reviews_live.end_event(contract).data)

        eventually(lambda: reviews_live.window(contract.id), timeout=10)
        assert reviews_live.submit(contract.client_id, contract.id).status_code == 201

    def test_a_cancellation_opens_reviews_only_after_a_release(self, reviews_live):
        paid, unpaid = reviews_live.new_contract(), reviews_live.new_contract()

        events = [reviews_live.harness.publish("contracts.contract.cancelled", reviews_live.end_event(c, "cancelled", amount).data)
                  for c, amount in ((unpaid, 0), (paid, 10_000))]

        eventually(lambda: all(reviews_live.handled(event) for event in events), timeout=10)
        assert reviews_live.window(paid.id).status == "open"
        assert reviews_live.window(unpaid.id) is None
        assert reviews_live.submit(unpaid.client_id, unpaid.id).status_code == 409

    def test_a_redelivered_end_event_has_one_effect(self, reviews_live):
        contract = reviews_live.contract_ended()
        reviews_live.reviewed(contract.client_id, contract.id)
        reviews_live.reviewed(contract.freelancer_id, contract.id)
        repeat = reviews_live.end_event(contract)

        reviews_live.harness.runtime.bus.publish([repeat, repeat])

        eventually(lambda: reviews_live.handled(repeat), timeout=10)
        assert reviews_live.window(contract.id).status == "closed"
        assert reviews_live.submit(contract.client_id, contract.id).status_code == 409

    def test_both_reviews_are_published_on_the_wire_once(self, reviews_live, wire):
        wire.bind("reviews.reviews.published")
        contract = reviews_live.new_contract()
        reviews_live.harness.publish("contracts.contract.completed", reviews_live.end_event(contract).data)
        eventually(lambda: reviews_live.window(contract.id), timeout=10)

        ids = {reviews_live.reviewed(user, contract.id)["id"] for user in (contract.freelancer_id, contract.client_id)}

        envelope, properties = wire.wait_for("reviews.reviews.published", contract_id=contract.id)
        assert properties.type == envelope["type"] == "reviews.reviews.published"
        assert envelope["producer"] == "reviews" and envelope["correlation_id"] == contract.id
        assert properties.message_id == envelope["id"]
        assert set(envelope["data"]["review_ids"]) == ids
        time.sleep(0.5)
        assert len(wire.seen("reviews.reviews.published", contract_id=contract.id)) == 1

    def test_the_window_timer_publishes_a_lone_review(self, make_reviews_live, wire):
        reviews_live = make_reviews_live(review_window=timedelta(seconds=1))
        wire.bind("reviews.reviews.published")
        contract = reviews_live.new_contract()
        reviews_live.harness.publish("contracts.contract.completed", reviews_live.end_event(contract).data)
        eventually(lambda: reviews_live.window(contract.id), timeout=10)
        review = reviews_live.reviewed(contract.client_id, contract.id)

        envelope, _ = wire.wait_for("reviews.reviews.published", contract_id=contract.id)

        assert envelope["data"]["review_ids"] == [review["id"]]
        assert [r["status"] for r in reviews_live.about(contract.freelancer_id).json["items"]] == ["published"]
