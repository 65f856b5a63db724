"""Keyset pagination over (created_at, id), newest first, with an opaque cursor."""
from __future__ import annotations

import base64
import json
from datetime import datetime

import sqlalchemy as sa

from shared.errors import Unprocessable


def encode_cursor(created_at: datetime, id_: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at.isoformat(), str(id_)]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, id_ = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:  # a forged cursor; a naive time would fail in the query as a 500
            raise ValueError("naive time in cursor")
        return moment, str(id_)
    except (ValueError, TypeError):
        raise Unprocessable("Invalid fields: cursor", {"cursor": ["Not a cursor from this API."]}) from None


def paginate(session, query, model, *, limit: int, cursor: str | None) -> dict:
    """Run `query` (a select of `model`) one page at a time: `{"items", "next_cursor"}`."""
    if cursor:
        created_at, id_ = decode_cursor(cursor)
        query = query.where(sa.or_(model.created_at < created_at,
                                   sa.and_(model.created_at == created_at, model.id < id_)))
    rows = list(session.scalars(query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1].created_at, rows[-1].id) if more else None}
