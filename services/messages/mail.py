"""E-mail: every notification to its user's address (when messages knows one), sent outside any transaction
once the notification commits, covered by a durable timer that tries again; a new message only once per room
and recipient until read, `EMAIL_UNREAD_DELAY` after it, if it is still unread then."""
from __future__ import annotations

import logging
from datetime import timedelta

from services.messages.models import Notification, ReadMark, Recipient, UnreadReminder
from shared.db import utcnow

log = logging.getLogger(__name__)

SEND = "messages.email.send"
REMIND_UNREAD = "messages.email.remind_unread"
MAX_ATTEMPTS = 10


def backoff(attempt: int) -> timedelta:
    """The wait before e-mail attempt `attempt + 1`: 30 s, doubling, at most an hour."""
    return min(timedelta(hours=1), timedelta(seconds=30 * 2 ** min(attempt, 8)))


def enqueue(uow, notification: Notification) -> None:
    """Send the notification once this commits, if its user has an address."""
    recipient = uow.session.get(Recipient, notification.user_id)
    if recipient is not None and recipient.email:
        start(uow, notification, recipient, {"notification_id": notification.id, "attempt": 0})


def remind_unread(uow, notification: Notification, *, room_id: str, seq: int) -> None:
    """The first unread message since the recipient last read the room: e-mail it later if still unread."""
    key = f"{room_id}:{notification.user_id}"
    reminder = uow.session.get(UnreadReminder, (room_id, notification.user_id))
    mark = uow.session.get(ReadMark, (room_id, notification.user_id))
    read_up_to = mark.seq if mark else 0
    if reminder is not None and reminder.seq > read_up_to:
        return  # already reminded (or about to be) of an earlier message they have not read yet
    if reminder is None:
        uow.session.add(UnreadReminder(room_id=room_id, user_id=notification.user_id, seq=seq))
    else:
        reminder.seq = seq
    uow.schedule(REMIND_UNREAD, key, utcnow() + uow.settings.email_unread_delay,
                 {"notification_id": notification.id, "room_id": room_id, "user_id": notification.user_id,
                  "seq": seq})


def remind(timer, uow) -> None:
    """The delay is over: e-mail the message if the read mark is still before it."""
    payload = timer.payload
    mark = uow.session.get(ReadMark, (payload["room_id"], payload["user_id"]))
    if mark is not None and mark.seq >= payload["seq"]:
        return
    notification = uow.session.get(Notification, payload["notification_id"])
    if notification is not None:
        enqueue(uow, notification)


def lease(timer, uow) -> None:
    """A covering timer is due: the last attempt did not end in a sent e-mail, so try again."""
    notification = uow.session.get(Notification, timer.payload["notification_id"])
    recipient = uow.session.get(Recipient, notification.user_id) if notification else None
    if notification is None or recipient is None or not recipient.email:
        return
    start(uow, notification, recipient, timer.payload)


def start(uow, notification: Notification, recipient: Recipient, payload: dict) -> None:
    """Attempt `payload["attempt"]`: a later timer covers it (a crash before the sending ends tries again then);
    the sending starts once this commits."""
    attempt = int(payload.get("attempt", 0))
    if attempt >= MAX_ATTEMPTS:
        log.error("e-mail of notification %s given up after %s attempts", notification.id, attempt)
        return
    uow.schedule(SEND, notification.id, utcnow() + backoff(attempt), {**payload, "attempt": attempt + 1})
    runtime = uow.runtime
    mailer, pool = runtime.collaborators["mailer"], runtime.collaborators["mail_pool"]
    message = mailer.message(to=recipient.email, subject=notification.text,
                             text=f"{notification.text}\n\n{notification.resource}\n", message_id=notification.id)
    notification_id = notification.id
    uow.after_commit(lambda: pool.submit(lambda: send(runtime, notification_id, message)))


def send(runtime, notification_id: str, message) -> None:
    """Send, outside any transaction; once sent, its timer goes (a crash before that sends it again)."""
    runtime.collaborators["mailer"].send(message, folder=runtime.settings.var_dir, name=notification_id)
    with runtime.unit_of_work() as uow:
        uow.cancel_timer(SEND, notification_id)


def remember_address(uow, user_id: str, email: str) -> None:
    uow.db.insert_new(uow.session, Recipient, user_id=user_id, email=email, last_seq=0)
    recipient = uow.session.get(Recipient, user_id)
    recipient.email = email
