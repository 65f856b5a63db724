"""Webhooks: registered with a secret shown once, deliveries signed and retried on durable timers,
addresses checked at registration and before each attempt, nothing followed, nobody held up."""
from __future__ import annotations

import json
import socket
import time
from datetime import timedelta

import pytest

from services.messages import targets
from tests.messages.helpers import Proposal
from tests.messages.receiver import Receiver
from tests.support import eventually, new_id

QUICK = (timedelta(milliseconds=100), timedelta(milliseconds=200))


@pytest.fixture
def receivers():
    made = []

    def make(*args, **kwargs) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def quick(make_messages):
    """Messages with its worker firing timers, retrying after 0.1 s and 0.2 s (three attempts)."""
    messages = make_messages(webhook_retry_delays=QUICK, webhook_timeout=timedelta(seconds=1))
    messages.harness.start_worker()
    return messages


def register(messages, user_id: str, url: str, events=("*",)):
    return messages.client.post("/webhooks", json={"url": url, "events": list(events)},
                                headers=messages.harness.headers(user_id))


def deliveries(messages, user_id: str, webhook_id: str) -> list[dict]:
    response = messages.get(f"/webhooks/{webhook_id}/deliveries", user_id)
    assert response.status_code == 200, response.json
    return response.json["items"]


def finished(messages, user_id, webhook_id):
    def check():
        found = deliveries(messages, user_id, webhook_id)
        return found if found and all(d["status"] != "pending" for d in found) else None
    return check


class TestRegistration:
    def test_the_secret_is_shown_once(self, messages, receivers):
        user = new_id()

        created = register(messages, user, receivers().url)

        assert created.status_code == 201, created.json
        assert len(created.json["secret"]) >= 32
        listed = messages.get("/webhooks", user).json["items"]
        assert [w["id"] for w in listed] == [created.json["id"]] and "secret" not in listed[0]
        assert "secret" not in messages.get(f"/webhooks/{created.json['id']}", user).json
        assert messages.get(f"/webhooks/{created.json['id']}", new_id()).status_code == 404

    @pytest.mark.parametrize("url", ["ftp://example.com/x", "http://", "not a url", "http://u:p@example.com/",
                                     "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/",
                                     "http://[fd00:ec2::254]/", "http://0.0.0.0/", "http://[::]/",
                                     "http://224.0.0.1/", "http://[::ffff:169.254.169.254]/",
                                     "http://does-not-resolve.invalid/", "https://example.com/" + "x" * 2048])
    def test_a_url_that_is_bad_or_resolves_to_a_forbidden_address_is_422(self, messages, url):
        response = register(messages, new_id(), url)

        assert response.status_code == 422, response.json
        assert "url" in response.json["errors"]

    def test_loopback_and_private_need_the_setting(self, make_messages):
        strict = make_messages(webhook_allow_private=False)

        for url in ("http://127.0.0.1:9/", "http://localhost:9/", "http://10.1.2.3/", "http://192.168.1.1/",
                    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/"):
            assert register(strict, new_id(), url).status_code == 422, url

    def test_unknown_or_no_kinds_are_422_and_the_eleventh_is_409(self, messages, receivers):
        user, url = new_id(), receivers().url

        assert register(messages, user, url, ["offer.recieved"]).status_code == 422
        assert register(messages, user, url, []).status_code == 422
        for _ in range(10):
            assert register(messages, user, url, ["offer.received"]).status_code == 201
        assert register(messages, user, url).status_code == 409


class TestDelivery:
    def test_a_notification_is_posted_signed_within_a_second(self, quick, receivers):
        receiver = receivers()
        proposal = Proposal()
        created = register(quick, proposal.client_id, receiver.url, ["proposal.received"]).json

        quick.proposal_submitted(proposal)
        made = time.monotonic()

        [received] = eventually(lambda: receiver.received, timeout=5)
        assert received.at - made < 1.0
        [delivery] = eventually(finished(quick, proposal.client_id, created["id"]))
        body = json.loads(received.body)
        assert (body["id"], body["type"]) == (delivery["id"], "proposal.received")
        assert body["notification"]["kind"] == "proposal.received" and body["created_at"] == body["notification"]["created_at"]
        assert received.headers["X-Marketplace-Delivery"] == delivery["id"]
        assert received.headers["X-Marketplace-Event"] == "proposal.received"
        assert targets.verify(created["secret"], received.body, received.headers["X-Marketplace-Signature"],
                              now=int(time.time()))
        assert not targets.verify("whsec_wrong", received.body, received.headers["X-Marketplace-Signature"],
                                  now=int(time.time()))
        assert (delivery["status"], [a["status_code"] for a in delivery["attempts"]]) == ("succeeded", [200])

    def test_kinds_not_asked_for_are_not_sent(self, quick, receivers):
        receiver = receivers()
        proposal = Proposal()
        created = register(quick, proposal.client_id, receiver.url, ["payout.paid"]).json

        quick.proposal_submitted(proposal)

        time.sleep(0.5)
        assert receiver.received == [] and deliveries(quick, proposal.client_id, created["id"]) == []

    def test_a_500_is_retried_with_the_same_delivery_id_and_a_fresh_signature(self, quick, receivers):
        receiver = receivers(answers=[(500, 0), (200, 0)])
        proposal = Proposal()
        created = register(quick, proposal.client_id, receiver.url).json

        quick.proposal_submitted(proposal)

        [delivery] = eventually(finished(quick, proposal.client_id, created["id"]))
        assert delivery["status"] == "succeeded"
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
        first, second = receiver.received
        assert first.headers["X-Marketplace-Delivery"] == second.headers["X-Marketplace-Delivery"] == delivery["id"]
        assert second.at - first.at >= 0.1

    def test_after_the_last_tier_it_fails_and_says_so(self, quick, receivers):
        receiver = receivers(answers=[(503, 0)])
        proposal = Proposal()
        created = register(quick, proposal.client_id, receiver.url).json

        quick.proposal_submitted(proposal)

        [delivery] = eventually(finished(quick, proposal.client_id, created["id"]))
        assert (delivery["status"], len(delivery["attempts"]), delivery["next_attempt_at"]) == ("failed", 3, None)
        assert len(receiver.received) == 3
        [failed] = quick.emitted("messages.webhook.delivery_failed")
        assert (failed["delivery_id"], failed["attempts"], failed["kind"]) == (delivery["id"], 3, "proposal.received")

    def test_a_redirect_is_never_followed(self, quick, receivers):
        elsewhere = receivers()
        receiver = receivers(answers=[(307, 0)], location=elsewhere.url)
        proposal = Proposal()
        created = register(quick, proposal.client_id, receiver.url).json

        quick.proposal_submitted(proposal)

        [delivery] = eventually(finished(quick, proposal.client_id, created["id"]))
        assert delivery["status"] == "failed"
        assert delivery["attempts"][0]["status_code"] == 307 and "redirect" in delivery["attempts"][0]["error"]
        assert elsewhere.received == []

    def test_a_slow_endpoint_holds_up_no_other_delivery(self, quick, receivers):
        slow, fast = receivers(answers=[(200, 3)]), receivers()
        slow_user, fast_user = Proposal(), Proposal()
        register(quick, slow_user.client_id, slow.url)
        register(quick, fast_user.client_id, fast.url)

        quick.proposal_submitted(slow_user)
        eventually(lambda: slow.received, timeout=5)
        quick.proposal_submitted(fast_user)
        made = time.monotonic()

        [received] = eventually(lambda: fast.received, timeout=5)
        assert received.at - made < 1.0

    def test_a_timeout_fails_the_attempt(self, quick, receivers):
        receiver = receivers(answers=[(200, 2)])
        proposal = Proposal()
        created = register(quick, proposal.client_id, receiver.url).json

        quick.proposal_submitted(proposal)

        [delivery] = eventually(finished(quick, proposal.client_id, created["id"]), timeout=20)
        assert delivery["status"] == "failed" and "timed out" in delivery["attempts"][0]["error"]

    def test_the_first_attempt_goes_as_the_notification_commits_without_its_timer_firing(self, make_messages,
                                                                                         receivers):
        messages, receiver = make_messages(), receivers()  # no worker: no timer fires
        proposal = Proposal()
        created = register(messages, proposal.client_id, receiver.url).json

        messages.proposal_submitted(proposal)

        [delivery] = eventually(finished(messages, proposal.client_id, created["id"]), timeout=5)
        assert delivery["status"] == "succeeded" and len(receiver.received) == 1
        assert messages.timers("messages.webhook.attempt") == []

    def test_deleting_drops_pending_deliveries(self, make_messages, receivers):
        messages = make_messages()
        proposal = Proposal()
        created = register(messages, proposal.client_id, receivers(answers=[(500, 0)]).url).json  # stays pending
        messages.proposal_submitted(proposal)
        assert len(messages.timers("messages.webhook.attempt")) == 1

        response = messages.client.delete(f"/webhooks/{created['id']}", headers=messages.harness.headers(proposal.client_id))

        assert response.status_code == 204
        assert messages.timers("messages.webhook.attempt") == []
        assert messages.get(f"/webhooks/{created['id']}/deliveries", proposal.client_id).status_code == 404

    def test_a_name_that_resolves_elsewhere_by_delivery_time_fails_without_connecting(self, quick, receivers,
                                                                                       monkeypatch):
        """DNS rebinding: the name pointed at an allowed address when registered, at the metadata one later."""
        receiver = receivers()
        port = receiver.server.server_port
        answers = {"hooks.example.test": "127.0.0.1"}
        real = socket.getaddrinfo

        def resolver(host, *args, **kwargs):
            if host in answers:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        proposal = Proposal()
        created = register(quick, proposal.client_id, f"http://hooks.example.test:{port}/in").json
        answers["hooks.example.test"] = "169.254.169.254"

        quick.proposal_submitted(proposal)

        [delivery] = eventually(finished(quick, proposal.client_id, created["id"]))
        assert delivery["status"] == "failed" and all("refused" in a["error"] for a in delivery["attempts"])
        assert receiver.received == []
