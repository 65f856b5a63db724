"""Deliveries decided on together: one transaction and one commit for the batch, a savepoint for each event,
so that a failing event undoes only its own part and is retried or dead-lettered as if it had come alone."""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.bus import topology
from shared.consumer import Consumer, Delivery, outside_transaction
from shared.events import Envelope
from shared.ids import new_id
from shared.tables import OutboxRow
from shared.worker import Worker
from tests.kit.helpers import (EFFECTS, REGISTERED, SUSPENDED, effect_counts, inbox_ids, outcomes, record,
                               record_effect, registered, suspended)
from tests.support import eventually

pytestmark = [pytest.mark.postgres]


def delivery(type_: str = REGISTERED, data: dict | None = None, *, retries: int = 0) -> tuple[Envelope, Delivery]:
    data = data if data is not None else (registered() if type_ == REGISTERED else suspended())
    envelope = Envelope.new(type_, data, producer="users", correlation_id=new_id())
    return envelope, Delivery(envelope.to_json(), retries)


def outcomes_of(results) -> list[str]:
    return [result.outcome.value for result in results]


def outbox_ids(runtime) -> set[str]:
    with runtime.db.transaction() as session:
        return set(session.scalars(sa.select(OutboxRow.id)))


def notes(runtime) -> list[str]:
    with runtime.db.transaction() as session:
        return list(session.scalars(sa.select(EFFECTS.c.note).order_by(EFFECTS.c.id)))


class Commits:
    """How many transactions committed on a database (a commit that fails is none, a savepoint released is none:
    SQLAlchemy's `after_commit` fires for those too)."""

    def __init__(self, database):
        self.count = 0
        self.engine = database.engine
        sa.event.listen(Session, "after_commit", self._committed)

    def _committed(self, session) -> None:
        if session.get_bind() is self.engine and not session.in_nested_transaction():
            self.count += 1

    def close(self) -> None:
        sa.event.remove(Session, "after_commit", self._committed)


@pytest.fixture
def consuming(pg_kit):
    """`consuming(handlers)` -> (runtime, consumer, commits): a toy service on PostgreSQL, its consumer called
    directly with the deliveries a bus would hand it."""

    made: list[Commits] = []

    def make(handlers: dict):
        runtime = pg_kit.runtime(pg_kit.service(handlers=handlers))
        made.append(Commits(runtime.db))
        return runtime, Consumer(runtime), made[-1]

    yield make
    for commits in made:
        commits.close()


class TestOneTransaction:
    def test_a_batch_is_handled_in_one_commit(self, consuming):
        runtime, consumer, commits = consuming({REGISTERED: record})
        events, deliveries = zip(*(delivery() for _ in range(5)))

        results = consumer.process_batch(list(deliveries))

        assert outcomes_of(results) == ["handled"] * 5
        assert [result.message_id for result in results] == [event.id for event in events]
        assert commits.count == 1
        assert effect_counts(runtime.db) == {event.id: 1 for event in events}
        assert inbox_ids(runtime.db) == sorted(event.id for event in events)
        assert outcomes(runtime, REGISTERED) == {"handled": 5}

    def test_the_events_a_batch_emits_are_each_caused_by_their_own_event(self, consuming):
        def reply(event, uow):
            uow.emit(SUSPENDED, suspended(user_id=event.data["user_id"]))

        runtime, consumer, _commits = consuming({REGISTERED: reply})
        published = []
        runtime.relay.publish_now = published.extend
        events, deliveries = zip(*(delivery() for _ in range(3)))

        consumer.process_batch(list(deliveries))

        assert [(emitted.data["user_id"], emitted.correlation_id, emitted.causation_id) for emitted in published] == [
            (event.data["user_id"], event.correlation_id, event.id) for event in events]

    def test_a_copy_of_an_event_in_the_same_batch_is_a_duplicate(self, consuming):
        runtime, consumer, _commits = consuming({REGISTERED: record})
        event, copy = delivery()
        _other, other = delivery()

        assert outcomes_of(consumer.process_batch([copy, other, copy])) == ["handled", "handled", "duplicate"]
        assert outcomes_of(consumer.process_batch([copy, copy])) == ["duplicate", "duplicate"]
        assert effect_counts(runtime.db)[event.id] == 1

    def test_each_event_reads_what_the_one_before_it_wrote(self, consuming):
        # A handler that updates with Core, as the ledger's conditional updates do, leaves the session's copy
        # of the row behind; the next event in the batch must not read that copy. The session forgets a row
        # nothing refers to; `kept` refers to each, as a cycle of relationships does until the collector runs.
        kept = []

        def count(event, uow):
            tally = uow.session.get(Tally, "visits")
            kept.append(tally)
            record_effect(uow, event.id, str(tally.value))
            uow.session.execute(sa.update(Tally).where(Tally.id == "visits").values(value=Tally.value + 1)
                                .execution_options(synchronize_session=False))

        runtime, consumer, commits = consuming({REGISTERED: count})
        Tally.metadata.create_all(runtime.db.engine)
        with runtime.db.transaction() as session:
            session.add(Tally(id="visits", value=0))
        before = commits.count

        consumer.process_batch([delivery()[1] for _ in range(3)])

        assert commits.count == before + 1
        assert notes(runtime) == ["0", "1", "2"]
        with runtime.db.transaction() as session:
            assert session.get(Tally, "visits").value == 3


class TallyBase(DeclarativeBase):
    pass


class Tally(TallyBase):
    __tablename__ = "kit_tally"
    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[int]


class TestAFailingEvent:
    @pytest.fixture
    def failing(self, consuming):
        """SUSPENDED fails after writing, emitting and asking for an action after the commit; REGISTERED does
        all three and stands."""
        ran = []

        def works(event, uow):
            record(event, uow)
            uow.emit(SUSPENDED, suspended(user_id=event.data["user_id"]))
            uow.after_commit(lambda: ran.append(event.id))

        def fails(event, uow):
            works(event, uow)
            raise RuntimeError("the ledger is down")

        runtime, consumer, commits = consuming({REGISTERED: works, SUSPENDED: fails})
        runtime.relay.publish_now = lambda envelopes: ran.extend(f"published {envelope.type}" for envelope in envelopes)
        return runtime, consumer, commits, ran

    def test_it_is_retried_alone_and_its_neighbours_stand(self, failing):
        runtime, consumer, commits, ran = failing
        (first, first_delivery), (bad, bad_delivery), (last, last_delivery) = delivery(), delivery(SUSPENDED), delivery()

        results = consumer.process_batch([first_delivery, bad_delivery, last_delivery])

        assert outcomes_of(results) == ["handled", "retry", "handled"]
        retry = results[1]
        assert (retry.message_id, retry.retries, retry.delay) == (bad.id, 1, runtime.settings.retry_delays[0])
        assert retry.error == "RuntimeError: the ledger is down"
        assert commits.count == 1
        assert effect_counts(runtime.db) == {first.id: 1, last.id: 1}
        assert inbox_ids(runtime.db) == sorted([first.id, last.id])  # so its retry is handled, not a duplicate
        assert len(outbox_ids(runtime)) == 2  # the event it emitted went with its savepoint
        assert ran == [f"published {SUSPENDED}"] * 2 + [first.id, last.id]

    def test_out_of_retries_it_is_dead_and_its_neighbours_stand(self, failing):
        runtime, consumer, _commits, ran = failing
        tiers = len(runtime.settings.retry_delays)
        (good, good_delivery), (bad, bad_delivery) = delivery(), delivery(SUSPENDED, retries=tiers)

        results = consumer.process_batch([bad_delivery, good_delivery])

        assert outcomes_of(results) == ["dead", "handled"]
        assert (results[0].message_id, results[0].retries) == (bad.id, tiers)
        assert effect_counts(runtime.db) == {good.id: 1}
        assert ran == [f"published {SUSPENDED}", good.id]

    def test_deliveries_that_cannot_be_read_are_dead_and_the_rest_handled_together(self, failing):
        runtime, consumer, commits, _ran = failing
        (first, first_delivery), (second, second_delivery) = delivery(), delivery()
        forged = Envelope.new(REGISTERED, registered(), producer="payments", correlation_id=new_id())

        results = consumer.process_batch([Delivery(b"\x00 not json"), first_delivery,
                                          Delivery(forged.to_json()), Delivery(first_delivery.body, "many"),
                                          second_delivery])

        assert outcomes_of(results) == ["dead", "handled", "dead", "dead", "handled"]
        assert "forged" in results[2].error and "x-retries" in results[3].error
        assert commits.count == 1
        assert effect_counts(runtime.db) == {first.id: 1, second.id: 1}


class TestHandledAlone:
    def test_a_batch_whose_commit_fails_is_handled_again_event_by_event(self, consuming):
        # A deferred constraint is checked at the commit: two events that claim one name fail the batch's
        # commit together, and alone only the second fails.
        def claim(event, uow):
            uow.session.execute(CLAIMS.insert().values(name=event.data["name"], event_id=event.id))

        runtime, consumer, commits = consuming({REGISTERED: claim})
        CLAIMS.create(runtime.db.engine)
        (first, first_delivery), (second, second_delivery), (other, other_delivery) = (
            delivery(data=registered(name="ada")), delivery(data=registered(name="ada")),
            delivery(data=registered(name="grace")))
        before = commits.count

        results = consumer.process_batch([first_delivery, second_delivery, other_delivery])

        assert outcomes_of(results) == ["handled", "retry", "handled"]
        assert (results[1].message_id, results[1].retries) == (second.id, 1)
        assert "UniqueViolation" in results[1].error
        assert commits.count == before + 2  # the batch's commit failed; alone, the first and the third stand
        with runtime.db.transaction() as session:
            assert sorted(session.execute(sa.select(CLAIMS.c.name, CLAIMS.c.event_id))) == [
                ("ada", first.id), ("grace", other.id)]
        assert inbox_ids(runtime.db) == sorted([first.id, other.id])

    def test_a_handler_with_an_outside_call_is_handled_alone(self, consuming):
        asked = []

        def ask_the_bank(event, runtime):
            asked.append(event.id)
            return "approved"

        @outside_transaction(ask_the_bank)
        def pay(event, uow):
            record_effect(uow, event.id, event.prepared)

        runtime, consumer, commits = consuming({SUSPENDED: pay, REGISTERED: record})
        (paid, paid_delivery), (first, first_delivery), (second, second_delivery) = (
            delivery(SUSPENDED), delivery(), delivery())

        results = consumer.process_batch([first_delivery, paid_delivery, second_delivery])

        assert outcomes_of(results) == ["handled"] * 3
        assert asked == [paid.id]
        assert commits.count == 2  # its own, and the other two's
        assert effect_counts(runtime.db) == {paid.id: 1, first.id: 1, second.id: 1}
        assert "approved" in notes(runtime)


CLAIMS = sa.Table(
    "kit_claims", sa.MetaData(),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(40), nullable=False),
    sa.UniqueConstraint("name", deferrable=True, initially="DEFERRED"),
)


@pytest.mark.amqp
class TestOnRabbitMQ:
    def test_a_backlog_is_decided_in_batches_and_every_event_handled_once(self, amqp_kit, broker):
        runtime = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: record}))
        worker = Worker(runtime)
        sizes = []
        decide = worker.consumer.process_batch
        worker.consumer.process_batch = lambda deliveries: sizes.append(len(deliveries)) or decide(deliveries)
        worker.declare()
        events = [Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())
                  for _ in range(45)]
        runtime.bus.publish(events)  # waiting on the queue before the worker starts

        amqp_kit.workers.append(worker.start())

        eventually(lambda: effect_counts(runtime.db) == {event.id: 1 for event in events}, message="45 handled")
        assert outcomes(runtime, REGISTERED) == {"handled": 45}
        assert sizes, "the backlog was decided on one delivery at a time"
        assert max(sizes) <= runtime.settings.consumer_batch == 20
        assert broker.count(topology.events_queue_name(runtime.service.name)) == 0

    def test_with_a_batch_of_one_each_delivery_is_decided_alone(self, amqp_kit):
        runtime = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: record}),
                                   settings=amqp_kit.settings.replace(consumer_batch=1))
        worker = Worker(runtime)
        batches = []
        worker.consumer.process_batch = batches.append
        worker.declare()
        events = [Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())
                  for _ in range(10)]
        runtime.bus.publish(events)

        amqp_kit.workers.append(worker.start())

        eventually(lambda: effect_counts(runtime.db) == {event.id: 1 for event in events}, message="10 handled")
        assert batches == []

    def test_a_delivery_that_arrives_while_another_is_forwarded_is_handled_without_waiting_for_a_third(
            self, amqp_kit, broker):
        # The copy of a dead (or retried) message is confirmed before its original is acked, and waiting for that
        # confirm reads what else the connection brings: a delivery read then must be decided on at once, not
        # when some later frame happens to wake the consumer.
        later = Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())
        doomed = Envelope.new(REGISTERED, registered(), producer="users", correlation_id=new_id())

        def handler(event, uow):
            if event.id != doomed.id:
                return record(event, uow)
            runtime.bus.publish([later])  # confirmed: it is on its way to this consumer before the copy is
            time.sleep(0.3)
            raise RuntimeError("out of retries")

        runtime = amqp_kit.runtime(amqp_kit.service(handlers={REGISTERED: handler}))
        amqp_kit.worker(runtime)
        tiers = len(runtime.settings.retry_delays)
        broker.publish(doomed.to_json(), exchange=amqp_kit.settings.exchange, routing_key=REGISTERED,
                       message_id=doomed.id, headers={"x-retries": tiers})

        dead_queue = topology.dead_queue_name(runtime.service.name)
        eventually(lambda: broker.count(dead_queue) == 1, message="the dead letter")
        eventually(lambda: effect_counts(runtime.db) == {later.id: 1}, timeout=5, message="the later event handled")
        assert outcomes(runtime, REGISTERED) == {"dead": 1, "handled": 1}
