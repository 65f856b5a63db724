"""`Database.insert_or_update`: a row made, or changed from what it held, in one round trip, returned as the model."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Counter(Base):
    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    note: Mapped[str | None] = mapped_column(sa.Text)
    count: Mapped[int] = mapped_column(sa.Integer)


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, make_pg_database, make_sqlite_database):
    database = (make_pg_database if request.param == "postgresql" else make_sqlite_database)("upserts")
    Base.metadata.create_all(database.engine)
    return database


def counted(database, session, name: str = "visits") -> Counter:
    return database.insert_or_update(session, Counter, {"name": name, "note": None, "count": 1},
                                     count=Counter.count + 1)


def test_a_new_row_is_made_with_its_values(database):
    with database.transaction() as session:
        counter = counted(database, session)
        assert isinstance(counter, Counter) and (counter.name, counter.count) == ("visits", 1)
    with database.transaction() as session:
        assert session.get(Counter, "visits").count == 1


def test_an_existing_row_changes_from_what_it_held_and_keeps_the_rest(database):
    with database.transaction() as session:
        session.add(Counter(name="visits", note="kept", count=41))
    with database.transaction() as session:
        loaded = session.get(Counter, "visits")
        counter = counted(database, session)
        assert counter is loaded and (counter.count, counter.note) == (42, "kept")
    with database.transaction() as session:
        assert session.get(Counter, "visits").count == 42
        assert counted(database, session, "other").count == 1
