"""Hot public reads: a body made once, kept a bounded time in the process, answered conditionally.

A resource anyone may read and that rarely changes (a job post) is read with one statement and
turned into its JSON body once; the body is kept for `ttl` per process, so a change made anywhere is
seen here within `ttl`. Every answer carries a strong `ETag` of its bytes and `Cache-Control:
no-cache`: a client or proxy may keep it but revalidates each time, and `If-None-Match` with the
current tag is a 304 without a body. `ttl` of zero keeps nothing (every request reads the row).
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Hashable, cast

from flask import Response, current_app, request
from sqlalchemy import event
from werkzeug.http import quote_etag

from shared.db import Database


@dataclass(frozen=True)
class Body:
    """A resource's JSON bytes and their tag."""

    data: bytes
    etag: str

    @classmethod
    def of(cls, payload: Any) -> Body:
        written = cast(Response, current_app.json.response(payload))  # byte for byte as every other JSON answer
        data = written.get_data()
        return cls(data, hashlib.blake2b(data, digest_size=16).hexdigest())

    def answer(self) -> Response:
        """200 with the body, or 304 when the request's `If-None-Match` names this tag (werkzeug's rules,
        applied only to a request that asks: nothing else can make the answer conditional)."""
        response = Response(self.data, mimetype="application/json",
                            headers=(("ETag", quote_etag(self.etag)), ("Cache-Control", "no-cache")))
        if "HTTP_IF_NONE_MATCH" in request.environ:
            response.make_conditional(request)
        return response


class ReadCache:
    """Bodies by key, each kept `ttl` after it was read, at most `size` of them (least recently used out)."""

    def __init__(self, ttl: timedelta, *, size: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.size, self.clock = ttl.total_seconds(), size, clock
        self._bodies: OrderedDict[Hashable, tuple[float, Body]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, read: Callable[[], Body | None]) -> Body | None:
        """The kept body of `key` while it is fresh, else `read()` (kept unless None: a miss is not kept)."""
        now = self.clock()
        with self._lock:
            kept = self._bodies.get(key)
            if kept is not None and kept[0] > now:
                self._bodies.move_to_end(key)
                return kept[1]
        body = read()
        if body is not None and self.ttl > 0:
            with self._lock:
                self._bodies[key] = (now + self.ttl, body)
                self._bodies.move_to_end(key)
                while len(self._bodies) > self.size:
                    self._bodies.popitem(last=False)
        return body

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._bodies.pop(key, None)

    def follow(self, db: Database, model: type, key: Callable[[Any], Hashable] = lambda row: row.id) -> None:
        """Forget a `model` row's body when a transaction of `db` in this process that changed or deleted it
        commits: a change made here is seen here at once (the API's writes, and the worker's where they
        share the process); one made in another process within `ttl`."""
        changed = f"read-cache-{id(self)}"

        @event.listens_for(db.sessions, "after_flush")
        def _note(session, _context):
            rows = [row for row in (*session.dirty, *session.deleted) if isinstance(row, model)]
            session.info.setdefault(changed, set()).update(key(row) for row in rows)

        @event.listens_for(db.sessions, "after_commit")
        def _forget(session):
            for row_key in session.info.pop(changed, ()):
                self.forget(row_key)

        @event.listens_for(db.sessions, "after_rollback")
        def _drop(session):
            session.info.pop(changed, None)
