"""The live stream of a user's notifications, as Server-Sent Events.

Polling: each round is one short read-only transaction of the notifications numbered after the last one
sent (no transaction stays open between rounds), so a notification committed by any process reaches
every stream of its user within a round (`POLL`), on PostgreSQL and SQLite alike.
"""
from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Callable, Iterator

from services.messages import notifying
from services.messages.schemas import NotificationOut

POLL = 0.25


def last_event_id(header: str | None) -> int | None:
    """`Last-Event-ID` as a sequence number; anything but ASCII digits is ignored."""
    value = (header or "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def frame(notification) -> str:
    body = json.dumps(NotificationOut().dump(notification), separators=(",", ":"), ensure_ascii=False)
    return f"id: {notification.seq}\nevent: notification\ndata: {body}\n\n"


def events(runtime, user_id: str, *, since: int | None, ends_at: float, heartbeat: timedelta,
           clock: Callable[[], float] = time.monotonic) -> Iterator[bytes]:
    """`retry:` at once, then the replay after `since` (or nothing older than now), then each new one,
    with a keep-alive comment every `heartbeat`, until `ends_at` (on `clock`).

    "Now" is read here, before the response's first byte: whatever is made after a client has seen
    the stream begin is sent to it."""
    if since is None:
        with runtime.db.transaction(readonly=True) as session:
            since = notifying.last_seq(session, user_id)
    return _frames(runtime, user_id, since, ends_at, heartbeat, clock)


def _frames(runtime, user_id: str, since: int, ends_at: float, heartbeat: timedelta,
            clock: Callable[[], float]) -> Iterator[bytes]:
    yield b"retry: 3000\n\n"
    beat = clock() + heartbeat.total_seconds()
    while clock() < ends_at:
        with runtime.db.transaction(readonly=True) as session:
            rows = notifying.after(session, user_id, since)
            batch = "".join(frame(notification) for notification in rows)
        if rows:
            since = rows[-1].seq
            yield batch.encode()
            beat = clock() + heartbeat.total_seconds()
            continue
        if clock() >= beat:
            yield b": keep-alive\n\n"
            beat = clock() + heartbeat.total_seconds()
        time.sleep(max(0.0, min(POLL, beat - clock(), ends_at - clock())))
