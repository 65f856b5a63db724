"""Notifications: which saga events make which kinds, for whom, saying what; one per recipient, numbered
per user in commit order; read marks. Each new one is handed to the user's webhooks and e-mail.

`KINDS` is the table of the kinds events make: adding one is a line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa

from services.messages import mail, webhooks
from services.messages.models import KnownContract, KnownReview, Notification, Recipient
from shared.db import utcnow
from shared.errors import NotFound, NotReady
from shared.ids import new_id

Recipients = Callable[[Any, dict], list[str]]


def _contract(uow, data: dict) -> KnownContract:
    known = uow.session.get(KnownContract, data["contract_id"])
    if known is None:
        raise NotReady(f"contract {data['contract_id']} is not known to messages yet")
    return known


def _party(role: str) -> Recipients:
    """The contract's client or freelancer: from the event, else from the contract learned before."""
    field = f"{role}_id"
    return lambda uow, data: [data.get(field) or getattr(_contract(uow, data), field)]


def _proposal_client(uow, data: dict) -> list[str]:
    """A proposal's client (none for one sent before jobs named the client)."""
    return [data["client_id"]] if data.get("client_id") else []


def _both(uow, data: dict) -> list[str]:
    return [*_party("client")(uow, data), *_party("freelancer")(uow, data)]


def _ended(uow, data: dict) -> list[str]:
    """A contract whose funding failed never started for the freelancer: only the client hears of it."""
    return _party("client")(uow, data) if data.get("end_reason") == "funding_failed" else _both(uow, data)


def _payee(uow, data: dict) -> list[str]:
    return [data["user_id"]]


def _reviewees(uow, data: dict) -> list[str]:
    reviewees = []
    for review_id in data["review_ids"]:
        review = uow.session.get(KnownReview, review_id)
        if review is None:
            raise NotReady(f"review {review_id} is not known to messages yet")
        reviewees.append(review.reviewee_id)
    return list(dict.fromkeys(reviewees))


def _contract_path(data: dict) -> str:
    return f"/contracts/{data['contract_id']}"


@dataclass(frozen=True)
class Kind:
    """An event that makes a notification of `kind` for each of `to`, with `text` (formatted with the event's data)."""

    event: str
    kind: str
    to: Recipients
    text: str
    resource: Callable[[dict], str] = _contract_path


KINDS: tuple[Kind, ...] = (
    Kind("jobs.proposal.submitted", "proposal.received", _proposal_client, "A new proposal on “{job_title}”.",
         lambda d: f"/jobs/{d['job_id']}/proposals/{d['proposal_id']}"),
    Kind("contracts.contract.offered", "offer.received", _party("freelancer"), "You have a contract offer."),
    Kind("contracts.contract.activated", "contract.activated", _both, "Your contract is active."),
    Kind("contracts.contract.completed", "contract.ended", _both, "Your contract is complete."),
    Kind("contracts.contract.cancelled", "contract.ended", _ended, "Your contract has ended ({end_reason})."),
    Kind("payments.escrow.funded", "milestone.funded", _party("freelancer"), "A milestone is funded: start work."),
    Kind("contracts.milestone.approved", "milestone.approved", _party("freelancer"), "Your milestone was approved."),
    Kind("payments.escrow.released", "milestone.released", _party("freelancer"), "A milestone's payment was released."),
    Kind("contracts.milestone.submitted", "milestone.submitted", _party("client"), "Work was submitted for review."),
    Kind("payments.escrow.refunded", "milestone.refunded", _party("client"), "A milestone was refunded to you."),
    Kind("payments.payout.paid", "payout.paid", _payee, "Your payout was paid.",
         lambda d: f"/payments/payouts/{d['payout_id']}"),
    Kind("payments.payout.failed", "payout.failed", _payee, "Your payout failed: {reason}.",
         lambda d: f"/payments/payouts/{d['payout_id']}"),
    Kind("reviews.reviews.published", "review.published", _reviewees, "A review about you was published.",
         lambda d: f"/reviews?contract_id={d['contract_id']}"),
    Kind("payments.invoice.charge_failed", "invoice.charge_failed", _party("client"),
         "A weekly invoice could not be charged: {reason}. Add funds; it is tried again.",
         lambda d: f"/contracts/{d['contract_id']}/invoices/{d['invoice_id']}"),
)
MESSAGE_RECEIVED = "message.received"
KIND_NAMES: tuple[str, ...] = tuple(dict.fromkeys([MESSAGE_RECEIVED, *(k.kind for k in KINDS)]))
"""Every kind a webhook may ask for."""
BY_EVENT: dict[str, tuple[Kind, ...]] = {}
for _kind in KINDS:
    BY_EVENT[_kind.event] = (*BY_EVENT.get(_kind.event, ()), _kind)


def ids_and_amounts(data: dict) -> dict:
    """What a notification keeps of its event: the ids and the amounts, never free text."""
    return {key: value for key, value in data.items()
            if key.endswith(("_id", "_ids")) or key == "amount" or key.endswith(("_amount", "_fee"))}


def from_event(uow, event) -> list[Notification]:
    """The notifications `event` makes, one per recipient (a party named twice is told once)."""
    made = []
    raw = event.envelope.data
    for kind in BY_EVENT.get(event.type, ()):
        for user_id in dict.fromkeys(kind.to(uow, event.data)):
            made.append(notify(uow, user_id, kind.kind, kind.text.format_map(_Lenient(raw)), kind.resource(raw),
                               ids_and_amounts(raw)))
    return made


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "…"


def message_received(uow, room, recipient_id: str, data: dict) -> Notification:
    notification = notify(uow, recipient_id, MESSAGE_RECEIVED, f"A new message about “{room.job_title}”.",
                          f"/rooms/{room.id}", data, email=False)
    mail.remind_unread(uow, notification, room_id=room.id, seq=data["seq"])
    return notification


def notify(uow, user_id: str, kind: str, text: str, resource: str, data: dict, *, email: bool = True) -> Notification:
    """A notification for `user_id`, numbered after their last one; their webhooks and e-mail follow."""
    # Ordering: taking the number locks the user's row, so `seq` follows commit order per user with no gap.
    recipient = numbered_recipient(uow, user_id)
    notification = Notification(id=new_id(), user_id=user_id, seq=recipient.last_seq, kind=kind, text=text[:300],
                                resource=resource, data=data, created_at=utcnow())
    uow.session.add(notification)
    uow.session.flush()
    webhooks.enqueue(uow, notification)
    if email:
        mail.enqueue(uow, notification)
    return notification


def numbered_recipient(uow, user_id: str) -> Recipient:
    """The user's row with `last_seq` one further (made at 1 for a user new here), locked until commit."""
    return uow.db.insert_or_update(uow.session, Recipient, {"user_id": user_id, "email": None, "last_seq": 1},
                                   last_seq=Recipient.last_seq + 1)


def listing(user_id: str, *, unread: bool = False, kind: str | None = None):
    query = sa.select(Notification).where(Notification.user_id == user_id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if kind:
        query = query.where(Notification.kind == kind)
    return query


def unread_count(session, user_id: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)))


def mark_read(uow, user_id: str, notification_id: str) -> Notification:
    """Read once: a second time keeps the first `read_at`."""
    notification = uow.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("No such notification among yours.")
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_read(uow, user_id: str) -> int:
    result = uow.session.execute(sa.update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=utcnow()))
    return result.rowcount or 0  # type: ignore[attr-defined]


def after(session, user_id: str, seq: int, limit: int = 100) -> list[Notification]:
    """The user's notifications numbered after `seq`, oldest first: what a stream sends next."""
    return list(session.scalars(sa.select(Notification).where(Notification.user_id == user_id, Notification.seq > seq)
                                .order_by(Notification.seq).limit(limit)))


def last_seq(session, user_id: str) -> int:
    recipient = session.get(Recipient, user_id)
    return recipient.last_seq if recipient else 0
