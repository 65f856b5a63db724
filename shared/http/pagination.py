"""Keyset pagination over (created_at, id), newest first, with an opaque cursor."""
from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from shared.errors import Unprocessable

MAX_CURSOR = 200  # a cursor this API makes is about 100 characters


def encode_cursor(created_at: datetime, id_: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), str(id_)]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor of this API names; anything else (forged, truncated, hostile) is a 422."""
    try:
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR or not cursor.isascii():
            raise ValueError("not a cursor")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw.decode("utf-8"))
        if not isinstance(decoded, list) or len(decoded) != 2 or not all(isinstance(p, str) for p in decoded):
            raise ValueError("not a cursor")
        created_at, id_ = decoded
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:  # a forged cursor; a naive time would fail in the query as a 500
            raise ValueError("naive time in cursor")
        # Extreme times (0001-01-01T00:00+14:00) have no UTC value: converting here, not in the query.
        moment = moment.astimezone(timezone.utc)
        return moment, str(uuid.UUID(id_))
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
        raise Unprocessable("Invalid fields: cursor", {"cursor": ["Not a cursor from this API."]}) from None


def paginate(session, query, model, *, limit: int, cursor: str | None, oldest_first: bool = False) -> dict:
    """Run `query` (a select of `model`) one page at a time, newest first (or oldest first):
    `{"items", "next_cursor"}`."""
    if cursor:
        created_at, id_ = decode_cursor(cursor)
        before = (sa.or_(model.created_at > created_at, sa.and_(model.created_at == created_at, model.id > id_))
                  if oldest_first else
                  sa.or_(model.created_at < created_at, sa.and_(model.created_at == created_at, model.id < id_)))
        query = query.where(before)
    order = (model.created_at, model.id) if oldest_first else (model.created_at.desc(), model.id.desc())
    rows = list(session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].created_at, rows[-1].id) if more else None}


def one_page(items: list) -> dict:
    """A list whose items are worked out over all of them (a period's entries, billed in order) and that
    stays short: the whole of it as one page, `{"items", "next_cursor": None}`."""
    return {"items": items, "next_cursor": None}


def paginate_in_order(session, query, position, *, limit: int, cursor: str | None) -> dict:
    """Run `query` one page at a time in the order of `position`, an increasing integer column, first
    to last (a history): `{"items", "next_cursor"}`; the cursor is as opaque as `paginate`'s."""
    if cursor:
        query = query.where(position > _decode_position(cursor))
    rows = list(session.scalars(query.order_by(position).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": _encode_position(getattr(rows[-1], position.key)) if more else None}


def _encode_position(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(["after", position]).encode()).decode().rstrip("=")


def _decode_position(cursor: str) -> int:
    try:
        if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR or not cursor.isascii():
            raise ValueError("not a cursor")
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8"))
        if (not isinstance(decoded, list) or len(decoded) != 2 or decoded[0] != "after"
                or type(decoded[1]) is not int or not 0 <= decoded[1] < 2 ** 63):
            raise ValueError("not a cursor")
        return decoded[1]
    except (ValueError, TypeError, RecursionError, binascii.Error):
        raise Unprocessable("Invalid fields: cursor", {"cursor": ["Not a cursor from this API."]}) from None
