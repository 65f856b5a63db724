"""A forged release: `payments.escrow.released` worded exactly as payments words it, but published by another
broker user. Contracts parks it with its reason, and the milestone waits for the real one."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pika
import pytest

from shared.dlq import AmqpDeadLetters, pika_parameters
from shared.events import Envelope
from shared.provenance import PUBLISHED_BY
from tests.support import eventually

pytestmark = [pytest.mark.amqp, pytest.mark.postgres]

RELEASED = "payments.escrow.released"


def publish_as(url: str, exchange: str, envelope: Envelope) -> str:
    """Publish `envelope` onto the events exchange as the broker user of `url`, with its own user_id; returns
    that user's name."""
    parameters = pika_parameters(url)
    user = parameters.credentials.username
    connection = pika.BlockingConnection(parameters)
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, envelope.type, envelope.to_json().encode(), pika.BasicProperties(
            message_id=envelope.id, type=envelope.type, content_type="application/json", delivery_mode=2,
            user_id=user, headers={"producer": envelope.producer}), mandatory=True)
    finally:
        connection.close()
    return user


class TestForgedRelease:
    def test_a_release_another_broker_user_sent_is_parked_with_its_reason_and_moves_nothing(
            self, contracts_live, rogue_url):
        deal = contracts_live.active()
        deal.submitted_and_approved(0)
        amount = deal.amount(0)
        forged = Envelope.new(RELEASED, {
            "contract_id": deal.id, "milestone_id": deal.milestone_id(0), "freelancer_id": deal.freelancer,
            "amount": amount, "freelancer_fee": amount // 10,
            "available_at": datetime.now(timezone.utc) + timedelta(days=5)}, producer="payments", correlation_id=deal.id)
        settings = contracts_live.harness.settings

        rogue = publish_as(rogue_url, settings.exchange, forged)

        # Parked at once, with its reason: what `marketplace dlq list contracts` and `dlq show` print.
        dead_letters = AmqpDeadLetters(settings, contracts_live.harness.service.name)
        [letter] = eventually(dead_letters.list, message="the forged release parked")
        assert (letter.message_id, letter.type, letter.retries) == (forged.id, RELEASED, 0)
        assert letter.error == (f"forged: {RELEASED} from payments was published by broker user {rogue!r}, "
                                f"not by {settings.publishers.of('payments')!r}")
        assert letter.headers[PUBLISHED_BY] == rogue
        assert Envelope.from_json(letter.body) == forged
        # Nothing moved: the milestone still waits for its money, and contracts said nothing of a release.
        assert deal.milestone(0)["status"] == "approved"
        assert deal.emitted("contracts.contract.completed") == []
        assert contracts_live.consumed(RELEASED, "dead") == 1 and contracts_live.consumed(RELEASED) == 0

        deal.released(0)  # the real one, from the user payments publishes as

        assert deal.wait_for("released", index=0)["status"] == "completed"
        assert [letter.message_id for letter in dead_letters.list()] == [forged.id]
