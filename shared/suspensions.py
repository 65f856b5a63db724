"""Suspended accounts: every service keeps the set it has heard of, and refuses their writes.

The accounts' owner announces a suspension (`ACCOUNT_SUSPENDED`) and a reinstatement
(`ACCOUNT_REINSTATED`). Every other service follows both with the kit's handlers, which `Service`
adds by itself (before the service's own handler of the same event, in the same transaction), and
keeps the accounts in its table `suspended_accounts`. `shared.http.require` asks `is_suspended`
before any write. The owner of the accounts answers from its own table instead: it declares
`Service(suspended=<check>)` and follows neither event.
"""
from __future__ import annotations

from datetime import datetime
from functools import wraps
from typing import Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import KitBase, UTCDateTime, utcnow
from shared.events import ACCOUNT_REINSTATED, ACCOUNT_SUSPENDED


class SuspendedAccountRow(KitBase):
    """An account this service has heard is suspended, until it hears it is reinstated."""

    __tablename__ = "suspended_accounts"
    user_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    suspended_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def listed(session: Session, user_id: str) -> bool:
    """Whether this service has heard that `user_id` is suspended (and not since reinstated)."""
    return session.get(SuspendedAccountRow, user_id) is not None


def remember(event, uow) -> None:
    """An account was suspended: from now on this service refuses its writes."""
    user_id = event.data["user_id"]
    if not listed(uow.session, user_id):
        uow.session.add(SuspendedAccountRow(user_id=user_id, reason=event.data["reason"], suspended_at=utcnow()))


def forget(event, uow) -> None:
    """An account was reinstated: its writes are accepted again."""
    uow.session.execute(sa.delete(SuspendedAccountRow).where(SuspendedAccountRow.user_id == event.data["user_id"]))


KIT_STEPS: dict[str, Callable] = {ACCOUNT_SUSPENDED: remember, ACCOUNT_REINSTATED: forget}


def with_kit_steps(handlers: Mapping[str, Callable]) -> dict[str, Callable]:
    """The service's handlers, where each suspension event first runs the kit's step.

    Idempotent: a service copied with `dataclasses.replace` is not given the steps twice.
    """
    merged = dict(handlers)
    for type_, step in KIT_STEPS.items():
        own = merged.get(type_)
        if own is None:
            merged[type_] = step
        elif own is not step and getattr(own, "kit_step", None) is not step:
            merged[type_] = _after(step, own)
    return merged


def _after(step: Callable, own: Callable) -> Callable:
    @wraps(own)
    def both(event, uow):
        step(event, uow)
        own(event, uow)

    both.kit_step = step  # type: ignore[attr-defined]  # marks the wrapper, so it is not wrapped twice
    return both


def is_suspended(runtime, user_id: str, session: Session | None = None) -> bool:
    """Asked by `require` before a write: the service's own check, else the kit's table.

    In `session` when the request already has one open (a `require` under `@idempotent`): a second
    transaction would wait on the first's write lock on SQLite."""
    check = runtime.service.suspended or listed
    if session is not None:
        return check(session, user_id)
    with runtime.db.transaction(durable=False) as own:
        return check(own, user_id)
