"""`Database.update_if`: a conditional UPDATE whose winner gets its new values back in the same round trip,
and whose loser sees what the winner wrote."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Door(Base):
    __tablename__ = "doors"
    id: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(20))
    opened_by: Mapped[str | None] = mapped_column(sa.String(20))


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, make_pg_database, make_sqlite_database):
    database = (make_pg_database if request.param == "postgresql" else make_sqlite_database)("conditional")
    Base.metadata.create_all(database.engine)
    with database.transaction() as session:
        session.add(Door(id="front", state="closed"))
    return database


def test_the_first_step_moves_the_row_and_sees_its_values_at_once(database):
    with database.transaction() as session:
        door = session.get(Door, "front")
        assert database.update_if(session, door, Door.state == "closed", state="open", opened_by="ada")
        assert (door.state, door.opened_by) == ("open", "ada")


def test_a_step_that_came_second_loses_and_sees_what_the_first_wrote(database):
    with database.transaction() as session:
        door = session.get(Door, "front")
        session.execute(sa.update(Door).values(state="open", opened_by="grace")  # another step got there first,
                        .execution_options(synchronize_session=False))         # behind this one's copy of the row
        assert door.state == "closed"
        assert not database.update_if(session, door, Door.state == "closed", state="open", opened_by="ada")
        assert (door.state, door.opened_by) == ("open", "grace")
