"""Timers set before their kinds were renamed keep firing: each service's data migration renames them."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from services.contracts import SERVICE as CONTRACTS
from services.contracts import sagas
from services.payments import SERVICE as PAYMENTS
from services.payments import escrow
from shared.db import MIGRATIONS, migrate, utcnow
from shared.tables import TimerRow

RENAMES = {
    "contracts": (CONTRACTS, "contracts_0001", {"offer-expiry": sagas.OFFER_EXPIRY,
                                                "auto-approve": sagas.AUTO_APPROVE,
                                                "settle-cancellation": sagas.SETTLE}),
    "payments": (PAYMENTS, "payments_0001", {"payments.hold_end": escrow.HOLD_END}),
}


def upgrade_to(database, service, *revisions: str) -> None:
    """The service's database at `revisions`, as a deployment made before a later revision has it."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join([str(MIGRATIONS / "versions"),
                                                                 str(service.migrations)]))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        for revision in revisions:
            command.upgrade(config, revision)


@pytest.mark.parametrize("name", list(RENAMES))
class TestTimerKindsRenamed:
    def test_a_timer_under_its_old_kind_fires_under_the_new_one_after_the_upgrade(self, name, make_database):
        service, previous, renamed = RENAMES[name]
        database = make_database(name)
        upgrade_to(database, service, "kit@head", previous)
        with database.transaction() as session:
            for number, old in enumerate(renamed):
                session.add(TimerRow(kind=old, key=f"key-{number}", due_at=utcnow(), payload={}, attempts=0))
            session.add(TimerRow(kind="bus.retry", key="untouched", due_at=utcnow(), payload={}, attempts=0))

        migrate(database, service.migrations)

        with database.transaction() as session:
            kinds = dict(session.execute(sa.select(TimerRow.key, TimerRow.kind)).all())
        assert kinds == {**{f"key-{n}": new for n, new in enumerate(renamed.values())}, "untouched": "bus.retry"}
        assert set(renamed.values()) <= set(service.timers)
