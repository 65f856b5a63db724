"""E-mail: every notification to its user's address through a real SMTP server (or into files), with
retries; a new message only once per room until read, and only if still unread after the delay."""
from __future__ import annotations

import email
import email.policy
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from services.messages import mail
from shared.db import utcnow
from shared.tables import TimerRow
from tests.messages.helpers import Proposal
from tests.ports import free_port
from tests.support import eventually


class Inbox:
    """aiosmtpd's handler: keeps each message; refuses the first `refuse` with a 451."""

    def __init__(self, refuse: int = 0):
        self.messages: list[email.message.Message] = []
        self.refuse = refuse
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse:
                self.refuse -= 1
                return "451 Try again later"
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    """`smtp(refuse=0)`: a real SMTP server on this machine; its inbox and its URL."""
    controllers = []

    def start(refuse: int = 0) -> tuple[Inbox, str]:
        inbox, port = Inbox(refuse), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return inbox, f"smtp://127.0.0.1:{port}"

    yield start
    for controller in controllers:
        controller.stop()


def registered(messages, user_id: str, address: str) -> None:
    messages.handle("users.user.registered", {"user_id": user_id, "email": address, "name": "Ada", "roles": ["client"]})


class TestSending:
    def test_a_notification_reaches_the_users_mailbox(self, make_messages, smtp):
        inbox, url = smtp()
        messages = make_messages(smtp_url=url, mail_from="robot@marketplace.test")
        messages.harness.start_worker()
        proposal = Proposal()
        registered(messages, proposal.client_id, "ada@example.com")

        messages.proposal_submitted(proposal)

        [sent] = eventually(lambda: inbox.messages, timeout=10)
        assert (sent["To"], sent["From"]) == ("ada@example.com", "robot@marketplace.test")
        assert proposal.job_title in sent["Subject"]
        assert f"/jobs/{proposal.job_id}/proposals/{proposal.id}" in sent.get_content()
        eventually(lambda: messages.timers(mail.SEND) == [], message="the sent e-mail's timer to go")

    def test_the_first_attempt_goes_as_the_notification_commits_without_its_timer_firing(self, make_messages, smtp):
        inbox, url = smtp()
        messages = make_messages(smtp_url=url)  # no worker: no timer fires
        proposal = Proposal()
        registered(messages, proposal.client_id, "ada@example.com")

        messages.proposal_submitted(proposal)

        eventually(lambda: inbox.messages, timeout=10)
        eventually(lambda: messages.timers(mail.SEND) == [], message="the sent e-mail's timer to go")

    def test_no_known_address_no_mail(self, messages):
        messages.proposal_submitted()

        assert messages.timers(mail.SEND) == []

    def test_a_refusal_is_tried_again(self, make_messages, smtp):
        inbox, url = smtp(refuse=1)
        messages = make_messages(smtp_url=url)
        proposal = Proposal()
        registered(messages, proposal.client_id, "ada@example.com")
        messages.proposal_submitted(proposal)  # the first attempt goes as it commits, and is refused

        eventually(lambda: inbox.refuse == 0)
        [timer] = messages.timers(mail.SEND)
        assert timer.payload["attempt"] == 1 and inbox.messages == []
        with messages.harness.runtime.db.transaction() as session:  # the backoff has passed
            session.execute(sa.update(TimerRow).where(TimerRow.kind == mail.SEND).values(due_at=utcnow()))
        messages.fire_timers()

        eventually(lambda: inbox.messages, timeout=10)
        eventually(lambda: messages.timers(mail.SEND) == [])

    def test_without_smtp_url_mail_is_written_under_var(self, make_messages):
        messages = make_messages()
        messages.harness.start_worker()
        proposal = Proposal()
        registered(messages, proposal.client_id, "ada@example.com")

        messages.proposal_submitted(proposal)

        folder = messages.harness.settings.var_dir / "mail"
        [written] = eventually(lambda: list(folder.glob("*.eml")), timeout=10)
        assert email.message_from_bytes(written.read_bytes())["To"] == "ada@example.com"


class TestUnreadMessages:
    def test_one_mail_per_room_until_read_and_none_when_read_in_time(self, make_messages, smtp):
        inbox, url = smtp()
        messages = make_messages(smtp_url=url, email_unread_delay=timedelta(milliseconds=300))
        proposal = Proposal()
        registered(messages, proposal.freelancer_id, "grace@example.com")
        messages.proposal_submitted(proposal)
        room_id = messages.room_of(proposal)["id"]

        for text in ("one", "two", "three"):
            messages.posted(room_id, proposal.client_id, text)

        [reminder] = messages.timers(mail.REMIND_UNREAD)
        assert reminder.payload["seq"] == 1
        messages.harness.start_worker()
        [sent] = eventually(lambda: inbox.messages, timeout=10)
        assert sent["To"] == "grace@example.com"
        eventually(lambda: messages.timers(mail.SEND) == [] and messages.timers(mail.REMIND_UNREAD) == [])
        later = messages.posted(room_id, proposal.client_id, "four")
        assert messages.timers(mail.REMIND_UNREAD) == []  # still unread since the first reminder
        messages.client.post(f"/rooms/{room_id}/read", json={"message_id": later["id"]},
                             headers=messages.harness.headers(proposal.freelancer_id))
        messages.posted(room_id, proposal.client_id, "five")
        messages.client.post(f"/rooms/{room_id}/read", json={"message_id": messages.room_of(proposal)["last_message"]["id"]},
                             headers=messages.harness.headers(proposal.freelancer_id))
        eventually(lambda: messages.timers(mail.REMIND_UNREAD) == [], timeout=5)
        assert len(inbox.messages) == 1
