"""Pruning: rows kept for a while (sent outbox rows, inbox rows, expired keys...) go once they are old enough.

Each rule deletes in bounded batches, one short transaction each, so pruning a big table never holds a
long lock nor a long transaction; the worker runs every rule every `PRUNE_EVERY`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from shared.db import Database, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retention:
    """Rows of `key`'s table whose `column` is older than `keep` (and that match `where`) go."""

    name: str
    key: Any  # the primary key's column (a mapped attribute or a Column)
    column: Any
    keep: timedelta
    where: tuple = ()

    def prune_batch(self, db: Database, batch: int) -> int:
        """Delete at most `batch` old rows in one transaction; how many went."""
        old = sa.select(self.key).where(self.column < utcnow() - self.keep, *self.where).limit(batch)
        if not db.is_sqlite:
            # Rows someone holds (a sweep, a consumer) are not waited for; the next round takes them.
            old = old.with_for_update(skip_locked=True)
        with db.transaction(durable=False) as session:
            return session.execute(sa.delete(self.key.table).where(self.key.in_(old.scalar_subquery())),
                                   execution_options={"synchronize_session": False}).rowcount or 0  # type: ignore[attr-defined]

    def prune(self, db: Database, batch: int, max_batches: int = 1000) -> int:
        """Delete every old row, a batch at a time, until a batch comes back short (or `max_batches`)."""
        total = 0
        for _ in range(max_batches):
            deleted = self.prune_batch(db, batch)
            total += deleted
            if deleted < batch:
                break
        return total


def prune_all(db: Database, rules: list[Retention], batch: int) -> dict[str, int]:
    """Run every rule; one that fails is logged and the others still run. Returns how many rows each deleted."""
    counts = {}
    for rule in rules:
        try:
            counts[rule.name] = rule.prune(db, batch)
        except Exception:  # noqa: BLE001 - tried again next round
            log.warning("pruning %s failed; tried again next round", rule.name, exc_info=True)
    return counts
