"""Bounded tables: the worker prunes sent outbox rows, inbox rows and expired idempotency keys after their
retention, in bounded batches; what is recent (or unsent) stays. On SQLite and on PostgreSQL."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shared.db import utcnow
from shared.http.idempotency import KEPT_FOR
from shared.ids import new_id
from shared.prune import Retention
from shared.tables import IdempotencyRow, InboxRow, OutboxRow
from shared.worker import Worker
from tests.support import eventually

DAY = timedelta(days=1)


def add_outbox(session, *, age: timedelta, sent: bool) -> str:
    id_, at = new_id(), utcnow() - age
    session.add(OutboxRow(id=id_, type="t", body="{}", created_at=at, next_attempt_at=at, attempts=0,
                          sent_at=at if sent else None))
    return id_


def add_inbox(session, *, age: timedelta) -> str:
    id_ = new_id()
    session.add(InboxRow(event_id=id_, type="t", handled_at=utcnow() - age))
    return id_


def add_key(session, *, age: timedelta) -> str:
    scope = new_id()
    session.add(IdempotencyRow(scope=scope, request_hash="h", status_code=201, body="{}", headers={},
                               created_at=utcnow() - age))
    return scope


def ids(database, column) -> set[str]:
    with database.transaction() as session:
        return set(session.scalars(sa.select(column)))


class TestPruning:
    def test_old_rows_go_and_recent_or_unsent_ones_stay(self, db_kit):
        runtime = db_kit.runtime(db_kit.service(), settings=db_kit.settings.replace(
            outbox_retention=7 * DAY, inbox_retention=3 * DAY))
        with runtime.db.transaction() as session:
            old_sent = [add_outbox(session, age=8 * DAY, sent=True) for _ in range(3)]
            recent_sent = add_outbox(session, age=6 * DAY, sent=True)
            old_unsent = add_outbox(session, age=30 * DAY, sent=False)  # never published: it must stay
            old_inbox = [add_inbox(session, age=4 * DAY) for _ in range(3)]
            recent_inbox = add_inbox(session, age=2 * DAY)
            expired = add_key(session, age=KEPT_FOR + timedelta(minutes=1))
            live = add_key(session, age=KEPT_FOR - timedelta(minutes=1))

        counts = Worker(runtime).prune()

        assert counts == {"outbox": 3, "inbox": 3, "idempotency_keys": 1}
        assert ids(runtime.db, OutboxRow.id) == {recent_sent, old_unsent}
        assert ids(runtime.db, InboxRow.event_id) == {recent_inbox}
        assert ids(runtime.db, IdempotencyRow.scope) == {live}
        kept = ids(runtime.db, OutboxRow.id) | ids(runtime.db, InboxRow.event_id) | ids(runtime.db, IdempotencyRow.scope)
        assert not set(old_sent + old_inbox + [expired]) & kept
        assert Worker(runtime).prune() == {"outbox": 0, "inbox": 0, "idempotency_keys": 0}

    def test_a_big_table_is_pruned_in_bounded_batches(self, db_kit):
        runtime = db_kit.runtime(db_kit.service(), settings=db_kit.settings.replace(prune_batch=4))
        with runtime.db.transaction() as session:
            for _ in range(10):
                add_inbox(session, age=30 * DAY)
            recent = add_inbox(session, age=timedelta(0))
        rule = Retention("inbox", InboxRow.event_id, InboxRow.handled_at, runtime.settings.inbox_retention)

        assert rule.prune_batch(runtime.db, 4) == 4  # one transaction deletes at most a batch
        assert len(ids(runtime.db, InboxRow.event_id)) == 7

        assert Worker(runtime).prune()["inbox"] == 6  # the rest, a batch at a time
        assert ids(runtime.db, InboxRow.event_id) == {recent}

    def test_a_service_adds_rules_for_its_own_tables(self, db_kit):
        seen = []

        def retention(settings):
            seen.append(settings)
            return [Retention("inbox-again", InboxRow.event_id, InboxRow.handled_at, timedelta(hours=1))]

        service = dataclasses.replace(db_kit.service(), retention=retention)
        runtime = db_kit.runtime(service)
        with runtime.db.transaction() as session:
            add_inbox(session, age=2 * timedelta(hours=1))

        assert Worker(runtime).prune() == {"outbox": 0, "inbox": 0, "idempotency_keys": 0, "inbox-again": 1}
        assert seen == [runtime.service_settings]

    def test_the_running_worker_prunes_every_prune_every(self, db_kit):
        runtime = db_kit.runtime(db_kit.service(), settings=db_kit.settings.replace(prune_every=timedelta(
            milliseconds=100)))
        db_kit.worker(runtime)
        with runtime.db.transaction() as session:  # written after the worker's first round
            add_inbox(session, age=30 * DAY)
            recent = add_inbox(session, age=timedelta(0))

        eventually(lambda: ids(runtime.db, InboxRow.event_id) == {recent}, message="the old inbox row pruned")


class TestRetentionSettings:
    def test_defaults(self):
        from shared.config import Settings

        settings = Settings.from_env({})
        assert (settings.outbox_retention, settings.inbox_retention) == (7 * DAY, 7 * DAY)
        assert (settings.prune_every, settings.prune_batch) == (timedelta(hours=1), 1000)

    def test_they_are_read(self):
        from shared.config import Settings

        settings = Settings.from_env({"OUTBOX_RETENTION": "2d", "INBOX_RETENTION": "30d", "PRUNE_EVERY": "10m",
                                      "PRUNE_BATCH": "50"})
        assert (settings.outbox_retention, settings.inbox_retention) == (2 * DAY, 30 * DAY)
        assert (settings.prune_every, settings.prune_batch) == (timedelta(minutes=10), 50)

    @pytest.mark.parametrize("env, named", [
        ({"INBOX_RETENTION": "30m"}, "INBOX_RETENTION"),
        ({"INBOX_RETENTION": "2h", "RETRY_DELAYS": "1h,2h"}, "INBOX_RETENTION"),
        ({"OUTBOX_RETENTION": "3000000d"}, "OUTBOX_RETENTION"),
        ({"OUTBOX_RETENTION": "0s"}, "OUTBOX_RETENTION"),
        ({"PRUNE_BATCH": "0"}, "PRUNE_BATCH"),
        ({"PRUNE_EVERY": "often"}, "PRUNE_EVERY"),
    ])
    def test_a_retention_that_would_forget_a_redelivery_or_overflow_is_refused(self, env, named):
        from shared.config import ConfigError, Settings

        with pytest.raises(ConfigError, match=named):
            Settings.from_env(env)
