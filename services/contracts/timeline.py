"""A contract's timeline: every change of status of the contract and of its milestones, kept as it happens.

Nothing calls this: whatever sets `Contract.status` or `Milestone.status` (a saga step, a new one, a
state machine's `apply`) is noted on the object, and the next flush writes it into `contract_history`
in that same transaction, so a change rolled back leaves no row and no row tells of a change that did
not happen. Who acted and why comes from the kit's context (`shared.context.current_cause`): a
request's user and id, the event being handled (its type and id), or the timer firing (its kind and
id). The money is what the payments event being handled reported about that milestone (or, for a
contract's own change, an event that names no milestone): its amounts, fees and holds.

Changes made around the ORM (a bulk `UPDATE`) are not seen; none is made to a status here.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import InstanceState, Mapped, Session, mapped_column

from services.contracts.models import Base, Contract, Milestone
from shared import context
from shared.db import UTCDateTime, utcnow
from shared.http import paginate_in_order
from shared.ids import new_id

MONEY_FROM = "payments."  # the events whose data says what the money did
_NOTED = "timeline"  # where an object keeps its changes of status until the next flush
_order = itertools.count()  # the order of changes across objects within one flush


class StatusChange(Base):
    """One change of status of a contract or of one of its milestones; rows are only ever added."""

    __tablename__ = "contract_history"
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    contract_id: Mapped[str] = mapped_column(sa.String(36))
    milestone_id: Mapped[str | None] = mapped_column(sa.String(36))
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_kind: Mapped[str] = mapped_column(sa.String(10))  # user, event, timer or system
    actor_id: Mapped[str | None] = mapped_column(sa.String(200))  # the user's id, the event's type, the timer's kind
    cause_id: Mapped[str | None] = mapped_column(sa.String(100))  # the request's, the event's or the timer's id
    correlation_id: Mapped[str | None] = mapped_column(sa.String(100))
    money: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (sa.Index("ix_contract_history_contract", "contract_id", "seq"),)

    @property
    def subject(self) -> str:
        return "contract" if self.milestone_id is None else "milestone"

    @property
    def actor(self) -> dict:
        return {"kind": self.actor_kind, "id": self.actor_id}


@dataclass(frozen=True)
class _Noted:
    order: int
    before: str | None
    after: str
    at: datetime
    cause: context.Cause | None
    correlation_id: str | None


def _state(obj) -> InstanceState:
    return sa.inspect(obj)


def _note(target, value, oldvalue, _initiator) -> None:
    before = oldvalue if isinstance(oldvalue, str) else None  # NO_VALUE / NEVER_SET: a new object
    if value != before:
        _state(target).info.setdefault(_NOTED, []).append(_Noted(
            next(_order), before, value, utcnow(), context.current_cause.get(), context.correlation_id.get()))


# active_history: the status before is read even when the object's attributes have expired.
event.listen(Contract.status, "set", _note, active_history=True)
event.listen(Milestone.status, "set", _note, active_history=True)


@event.listens_for(Session, "before_flush")
def _write_history(session: Session, _context, _instances) -> None:
    noted = []
    for obj in itertools.chain(session.new, session.dirty):
        if isinstance(obj, (Contract, Milestone)):
            noted += [(change, obj) for change in _state(obj).info.pop(_NOTED, ())]
    for change, obj in sorted(noted, key=lambda pair: pair[0].order):
        session.add(_row(change, obj))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous) -> None:
    """Changes undone with their transaction (or savepoint) are forgotten with them."""
    for obj in itertools.chain(session.identity_map.values(), session.new):
        if isinstance(obj, (Contract, Milestone)):
            _state(obj).info.pop(_NOTED, None)


def _row(change: _Noted, obj: Contract | Milestone) -> StatusChange:
    if isinstance(obj, Milestone):
        contract_id = obj.contract_id or obj.contract.id  # a new milestone's key is set by this very flush
        milestone_id: str | None = obj.id
    else:
        contract_id, milestone_id = obj.id, None
    cause = change.cause
    if cause is None:
        kind, actor = "system", None
    elif cause.kind == "request":
        kind, actor = ("user", cause.user_id) if cause.user_id else ("system", None)
    else:
        kind, actor = cause.kind, cause.name
    return StatusChange(id=new_id(), contract_id=contract_id, milestone_id=milestone_id, from_status=change.before,
                        to_status=change.after, at=change.at, actor_kind=kind, actor_id=actor,
                        cause_id=cause.id if cause else None, correlation_id=change.correlation_id,
                        money=money_of(cause, milestone_id))


def money_of(cause: context.Cause | None, milestone_id: str | None) -> dict[str, Any]:
    """What the payments event being handled says the money of this milestone did (of the contract itself
    when `milestone_id` is None): its amounts (`amount`, `*_amount`), fees (`*_fee`) and holds (`*hold*`,
    `available_at`), as sent. Nothing for any other cause, or an event about another milestone."""
    if cause is None or cause.kind != "event" or not (cause.name or "").startswith(MONEY_FROM):
        return {}
    if cause.data.get("milestone_id") != milestone_id:
        return {}
    return {name: value for name, value in cause.data.items() if _is_money(name)}


def _is_money(name: str) -> bool:
    return (name == "amount" or name.endswith(("_amount", "_fee")) or "hold" in name
            or name == "available_at")


def page(session, contract_id: str, *, limit: int, cursor: str | None) -> dict:
    """The contract's timeline, first change first, one page at a time."""
    query = sa.select(StatusChange).where(StatusChange.contract_id == contract_id)
    return paginate_in_order(session, query, StatusChange.seq, limit=limit, cursor=cursor)
