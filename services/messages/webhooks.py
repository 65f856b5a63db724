"""Webhooks: a user's notifications POSTed, signed, to a URL of theirs; retried on durable timers.

A delivery's attempt is a timer (`ATTEMPT`) whose handler only leases it: it moves its own timer past
the attempt's longest time (so a process that dies mid-attempt is covered) and, once committed, hands
the request to a thread of the pool. The request runs outside any transaction, to the address checked
just before; its outcome is recorded in a short transaction of its own, which sets the next tier's
timer, or ends the delivery.
"""
from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta

import sqlalchemy as sa

from services.messages import targets, wire
from services.messages.models import Delivery, Notification, Webhook
from services.messages.schemas import NotificationOut
from services.messages.states import DELIVERY
from shared.db import utcnow
from shared.errors import Conflict, NotFound, Unprocessable
from shared.events.fields import format_timestamp
from shared.ids import new_id

ATTEMPT = "messages.webhook.attempt"
MAX_WEBHOOKS = 10
LEASE_MARGIN = timedelta(seconds=30)
KEPT_FOR = timedelta(days=30)


def register(uow, *, user_id: str, url: str, events: list[str], known_kinds: tuple[str, ...]) -> tuple[Webhook, str]:
    """A new webhook and its secret (shown only now); its URL must resolve to an allowed address."""
    unknown = [kind for kind in events if kind != "*" and kind not in known_kinds]
    if not events or unknown:
        detail = f"Unknown kinds: {', '.join(unknown)}." if unknown else "Name at least one kind, or \"*\"."
        raise Unprocessable("Invalid fields: events", {"events": [detail]})
    try:
        targets.check(url, allow_private=uow.settings.webhook_allow_private)
    except targets.Refused as refused:
        raise Unprocessable("Invalid fields: url", {"url": [str(refused)]}) from None
    count = uow.session.scalar(sa.select(sa.func.count()).select_from(Webhook).where(Webhook.user_id == user_id))
    if count >= MAX_WEBHOOKS:
        raise Conflict(f"You already have {MAX_WEBHOOKS} webhooks; delete one first.")
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook(id=new_id(), user_id=user_id, url=url, events=sorted(set(events)), secret=secret,
                      created_at=utcnow())
    uow.session.add(webhook)
    uow.session.flush()
    return webhook, secret


def owned(session, user_id: str, webhook_id: str) -> Webhook:
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or webhook.user_id != user_id:
        raise NotFound("No such webhook among yours.")
    return webhook


def listing(user_id: str):
    return sa.select(Webhook).where(Webhook.user_id == user_id)


def deliveries(webhook_id: str):
    return sa.select(Delivery).where(Delivery.webhook_id == webhook_id)


def delete(uow, user_id: str, webhook_id: str) -> None:
    """The webhook goes, with its deliveries; their timers find nothing left to do."""
    webhook = owned(uow.session, user_id, webhook_id)
    pending = uow.session.scalars(sa.select(Delivery.id).where(Delivery.webhook_id == webhook.id,
                                                               Delivery.status == "pending"))
    for delivery_id in list(pending):
        uow.cancel_timer(ATTEMPT, delivery_id)
    uow.session.execute(sa.delete(Delivery).where(Delivery.webhook_id == webhook.id))
    uow.session.delete(webhook)


def enqueue(uow, notification: Notification) -> None:
    """A delivery for each webhook of the user that wants this kind; its first attempt starts once this commits."""
    now = utcnow()
    hooks = uow.session.scalars(sa.select(Webhook).where(Webhook.user_id == notification.user_id,
                                                         Webhook.created_at <= now))
    for webhook in hooks:
        if not webhook.wants(notification.kind):
            continue
        delivery = Delivery(id=new_id(), webhook_id=webhook.id, notification_id=notification.id,
                            user_id=notification.user_id, kind=notification.kind, status="pending", attempts=[],
                            next_attempt_at=now, created_at=now)
        uow.session.add(delivery)
        start(uow, delivery, new=True)


def lease(timer, uow) -> None:
    """An attempt is due (a retry, or one that never reported back): start it."""
    delivery = uow.session.get(Delivery, timer.payload["delivery_id"])
    if delivery is None or delivery.status != "pending":
        return
    start(uow, delivery)


def start(uow, delivery: Delivery, *, new: bool = False) -> None:
    """Cover the attempt with a later timer (a crash before its outcome is recorded tries again then), and
    start it once this commits."""
    deadline = utcnow() + uow.settings.webhook_timeout + LEASE_MARGIN
    uow.schedule(ATTEMPT, delivery.id, deadline, {"delivery_id": delivery.id}, new=new)
    runtime, pool, delivery_id = uow.runtime, uow.runtime.collaborators["webhook_pool"], delivery.id
    uow.after_commit(lambda: pool.submit(lambda: attempt(runtime, delivery_id)))


def attempt(runtime, delivery_id: str) -> None:
    """One attempt, outside any transaction, then its outcome recorded."""
    with runtime.db.transaction(readonly=True) as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.status != "pending":
            return
        webhook = session.get(Webhook, delivery.webhook_id)
        notification = session.get(Notification, delivery.notification_id)
        if webhook is None or notification is None:
            return
        url, secret = webhook.url, webhook.secret
        body = json.dumps({"id": delivery.id, "type": delivery.kind,
                           "created_at": _timestamp(notification), "notification": present(notification)},
                          separators=(",", ":")).encode()
    settings = runtime.service_settings
    status_code, error = None, None
    try:
        address = targets.check(url, allow_private=settings.webhook_allow_private)
        headers = {"X-Marketplace-Delivery": delivery_id, "X-Marketplace-Event": notification.kind,
                   "X-Marketplace-Signature": targets.signature(secret, body, int(time.time()))}
        status_code = wire.post(url, str(address), body, headers, settings.webhook_timeout.total_seconds())
        if not 200 <= status_code < 300:
            error = "redirect not followed" if 300 <= status_code < 400 else f"HTTP {status_code}"
    except targets.Refused as refused:
        error = f"refused: {refused}"
    except (OSError, ValueError) as failure:  # timeouts, refusals, resets, TLS and protocol errors
        error = f"{type(failure).__name__}: {failure}"[:500]
    record(runtime, delivery_id, status_code, error)


def record(runtime, delivery_id: str, status_code: int | None, error: str | None) -> None:
    """The attempt's outcome: succeeded, or the next tier's timer, or failed after the last."""
    with runtime.unit_of_work() as uow:
        delivery = uow.session.scalar(uow.for_update(sa.select(Delivery).where(Delivery.id == delivery_id)))
        if delivery is None or delivery.status != "pending":
            return
        now = utcnow()
        delivery.attempts = [*delivery.attempts, {"at": format_timestamp(now), "status_code": status_code, "error": error}]
        if error is None:
            DELIVERY.apply(delivery, "succeeded")
            delivery.delivered_at, delivery.next_attempt_at = now, None
            uow.cancel_timer(ATTEMPT, delivery.id)
            return
        delay = targets.retry_delay(uow.settings.webhook_retry_delays, len(delivery.attempts))
        if delay is not None:
            delivery.next_attempt_at = now + delay
            uow.schedule(ATTEMPT, delivery.id, delivery.next_attempt_at, {"delivery_id": delivery.id})
            return
        DELIVERY.apply(delivery, "failed")
        delivery.next_attempt_at = None
        uow.cancel_timer(ATTEMPT, delivery.id)
        uow.emit("messages.webhook.delivery_failed", {
            "webhook_id": delivery.webhook_id, "delivery_id": delivery.id, "user_id": delivery.user_id,
            "notification_id": delivery.notification_id, "kind": delivery.kind,
            "attempts": len(delivery.attempts)}, correlation_id=delivery.notification_id)


def present(notification: Notification) -> dict:
    return NotificationOut().dump(notification)


def _timestamp(notification: Notification) -> str:
    return format_timestamp(notification.created_at)


def count_deliveries(runtime) -> dict[tuple[str, ...], float]:
    """Deliveries by status (pending ones are still being tried; failed ones gave up)."""
    with runtime.db.transaction(readonly=True) as session:
        counted = {status: count for status, count in
                   session.execute(sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status))}
    return {(status,): float(counted.get(status, 0)) for status in DELIVERY.states}
