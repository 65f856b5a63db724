"""An event emitted inside a savepoint that rolls back is never published, however the savepoint was opened."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.tables import OutboxRow
from tests.kit.helpers import REGISTERED, SUSPENDED, registered, suspended


class Undone(Exception):
    pass


@pytest.fixture
def producer(db_kit):
    runtime = db_kit.runtime(db_kit.service())
    published = []
    runtime.relay.publish_now = published.extend  # what the unit of work hands the relay after commit
    return runtime, published


def outbox_ids(runtime) -> set[str]:
    with runtime.db.transaction() as session:
        return set(session.scalars(sa.select(OutboxRow.id)))


class TestSavepoints:
    def test_an_event_emitted_in_a_savepoint_that_rolls_back_is_not_published(self, producer):
        runtime, published = producer
        with runtime.unit_of_work() as uow:
            kept = uow.emit(REGISTERED, registered())
            with pytest.raises(Undone):
                with uow.savepoint():
                    uow.emit(SUSPENDED, suspended())
                    raise Undone

        assert published == [kept]
        assert outbox_ids(runtime) == {kept.id}

    @pytest.mark.parametrize("flush", [True, False], ids=["flushed", "not-flushed"])
    def test_an_event_emitted_in_any_begin_nested_that_rolls_back_is_not_published(self, producer, flush):
        runtime, published = producer
        with runtime.unit_of_work() as uow:
            with pytest.raises(Undone):
                with uow.session.begin_nested():
                    uow.emit(SUSPENDED, suspended())
                    if flush:
                        uow.session.flush()
                    raise Undone
            savepoint = uow.session.begin_nested()
            uow.emit(SUSPENDED, suspended())
            savepoint.rollback()
            kept = uow.emit(REGISTERED, registered())

        assert published == [kept]
        assert outbox_ids(runtime) == {kept.id}

    def test_an_inner_savepoint_that_was_released_rolls_back_with_its_outer_one(self, producer):
        runtime, published = producer
        with runtime.unit_of_work() as uow:
            with pytest.raises(Undone):
                with uow.savepoint():
                    with uow.savepoint():
                        uow.emit(SUSPENDED, suspended())
                    raise Undone
            with uow.savepoint():
                outer = uow.emit(REGISTERED, registered())
                with pytest.raises(Undone):
                    with uow.savepoint():
                        uow.emit(SUSPENDED, suspended())
                        raise Undone
                inner = uow.emit(SUSPENDED, suspended())

        assert published == [outer, inner]
        assert outbox_ids(runtime) == {outer.id, inner.id}

    def test_nothing_is_published_when_the_whole_transaction_rolls_back(self, producer):
        runtime, published = producer
        with pytest.raises(Undone):
            with runtime.unit_of_work() as uow:
                uow.emit(REGISTERED, registered())
                raise Undone

        assert published == [] and outbox_ids(runtime) == set()


class TestAfterCommit:
    """`uow.after_commit(action)`: a side effect outside the database, run once the transaction stands."""

    def test_an_action_runs_after_the_commit_and_not_before(self, producer):
        runtime, _published = producer
        seen = []
        with runtime.unit_of_work() as uow:
            kept = uow.emit(REGISTERED, registered())
            uow.after_commit(lambda: seen.append(outbox_ids(runtime)))  # another connection: only what committed
            assert seen == []

        assert seen == [{kept.id}]

    def test_an_action_asked_for_in_a_savepoint_that_rolls_back_never_runs(self, producer):
        runtime, _published = producer
        ran = []
        with runtime.unit_of_work() as uow:
            uow.after_commit(lambda: ran.append("kept"))
            with pytest.raises(Undone):
                with uow.savepoint():
                    with uow.savepoint():
                        uow.after_commit(lambda: ran.append("inner, released, then undone with its outer"))
                    raise Undone
            with uow.savepoint():
                uow.after_commit(lambda: ran.append("released"))

        assert ran == ["kept", "released"]

    def test_no_action_runs_when_the_whole_transaction_rolls_back(self, producer):
        runtime, _published = producer
        ran = []
        with pytest.raises(Undone):
            with runtime.unit_of_work() as uow:
                uow.after_commit(lambda: ran.append("never"))
                raise Undone

        assert ran == []

    def test_an_action_that_fails_leaves_the_commit_and_the_other_actions_standing(self, producer, caplog):
        runtime, published = producer
        ran = []

        def fails():
            raise RuntimeError("the mail server is down")

        with runtime.unit_of_work() as uow:
            kept = uow.emit(REGISTERED, registered())
            uow.after_commit(fails)
            uow.after_commit(lambda: ran.append("second"))

        assert ran == ["second"]
        assert published == [kept] and outbox_ids(runtime) == {kept.id}
        assert "an action after the commit failed" in caplog.text
