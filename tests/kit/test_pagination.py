"""Pages: every row once, in order, newest first or oldest first, a cursor naming where the next begins."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import UTCDateTime
from shared.http.pagination import one_page, paginate
from shared.ids import new_id


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


@pytest.fixture
def session():
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with Session(engine) as session:
        # Ten rows, two to each moment: the id breaks the tie.
        session.add_all(Row(id=new_id(), created_at=start + timedelta(minutes=i // 2)) for i in range(10))
        session.commit()
        yield session


def pages(session, **order) -> list[list[Row]]:
    found, cursor = [], None
    while True:
        page = paginate(session, sa.select(Row), Row, limit=3, cursor=cursor, **order)
        found.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


@pytest.mark.parametrize("oldest_first", [False, True])
def test_pages_hold_every_row_once_in_order(session, oldest_first):
    got = pages(session, oldest_first=oldest_first)
    assert [len(page) for page in got] == [3, 3, 3, 1]
    keys = [(row.created_at, row.id) for page in got for row in page]
    assert keys == sorted(keys, reverse=not oldest_first)
    assert len(set(keys)) == 10


def test_one_page_is_the_whole_list_with_no_cursor():
    assert one_page([1, 2]) == {"items": [1, 2], "next_cursor": None}
