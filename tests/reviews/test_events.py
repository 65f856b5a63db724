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
        assert window.closes_at - window.opened_at == reviews.harness.settings.review_window
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


@pytest.fixture
def make_live_reviews(make_reviews, amqp_settings, make_pg_database):
    """`make_live_reviews(review_window)`: reviews on RabbitMQ and PostgreSQL with its worker consuming."""

    def make(review_window: timedelta = timedelta(days=14)):
        reviews = make_reviews(amqp_settings.replace(review_window=review_window), make_pg_database("reviews"))
        reviews.harness.start_worker()
        return reviews

    return make


@pytest.fixture
def live_reviews(make_live_reviews):
    return make_live_reviews()


@pytest.mark.amqp
@pytest.mark.postgres
class TestOnTheBus:
    def test_a_completed_contract_opens_reviews(self, live_reviews):
        contract = live_reviews.new_contract()

        live_reviews.harness.publish("contracts.contract.completed", live_reviews.end_event(contract).data)

        eventually(lambda: live_reviews.window(contract.id), timeout=10)
        assert live_reviews.submit(contract.client_id, contract.id).status_code == 201

    def test_a_cancellation_opens_reviews_only_after_a_release(self, live_reviews):
        paid, unpaid = live_reviews.new_contract(), live_reviews.new_contract()

        events = [live_reviews.harness.publish("contracts.contract.cancelled", live_reviews.end_event(c, "cancelled", amount).data)
                  for c, amount in ((unpaid, 0), (paid, 10_000))]

        eventually(lambda: all(live_reviews.handled(event) for event in events), timeout=10)
        assert live_reviews.window(paid.id).status == "open"
        assert live_reviews.window(unpaid.id) is None
        assert live_reviews.submit(unpaid.client_id, unpaid.id).status_code == 409

    def test_a_redelivered_end_event_has_one_effect(self, live_reviews):
        contract = live_reviews.contract_ended()
        live_reviews.reviewed(contract.client_id, contract.id)
        live_reviews.reviewed(contract.freelancer_id, contract.id)
        repeat = live_reviews.end_event(contract)

        live_reviews.harness.runtime.bus.publish([repeat, repeat])

        eventually(lambda: live_reviews.handled(repeat), timeout=10)
        assert live_reviews.window(contract.id).status == "closed"
        assert live_reviews.submit(contract.client_id, contract.id).status_code == 409

    def test_both_reviews_are_published_on_the_wire_once(self, live_reviews, wire):
        wire.bind("reviews.reviews.published")
        contract = live_reviews.new_contract()
        live_reviews.harness.publish("contracts.contract.completed", live_reviews.end_event(contract).data)
        eventually(lambda: live_reviews.window(contract.id), timeout=10)

        ids = {live_reviews.reviewed(user, contract.id)["id"] for user in (contract.freelancer_id, contract.client_id)}

        envelope, properties = wire.wait_for("reviews.reviews.published", contract_id=contract.id)
        assert properties.type == envelope["type"] == "reviews.reviews.published"
        assert envelope["producer"] == "reviews" and envelope["correlation_id"] == contract.id
        assert properties.message_id == envelope["id"]
        assert set(envelope["data"]["review_ids"]) == ids
        time.sleep(0.5)
        assert len(wire.seen("reviews.reviews.published", contract_id=contract.id)) == 1

    def test_the_window_timer_publishes_a_lone_review(self, make_live_reviews, wire):
        live_reviews = make_live_reviews(review_window=timedelta(seconds=1))
        wire.bind("reviews.reviews.published")
        contract = live_reviews.new_contract()
        live_reviews.harness.publish("contracts.contract.completed", live_reviews.end_event(contract).data)
        eventually(lambda: live_reviews.window(contract.id), timeout=10)
        review = live_reviews.reviewed(contract.client_id, contract.id)

        envelope, _ = wire.wait_for("reviews.reviews.published", contract_id=contract.id)

        assert envelope["data"]["review_ids"] == [review["id"]]
        assert [r["status"] for r in live_reviews.about(contract.freelancer_id).json["items"]] == ["published"]
