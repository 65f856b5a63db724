"""The live stream: Server-Sent Events of the caller's notifications, replay, heartbeats, its end."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from services.messages import stream as live
from tests.messages.helpers import Proposal
from tests.messages.sse import Stream
from tests.ports import free_port
from tests.support import eventually, new_id


def token(messages, user_id: str, roles=("client",)) -> str:
    return messages.harness.headers(user_id, roles)["Authorization"].split(" ", 1)[1]


class TestStream:
    def test_it_begins_at_once_and_then_sends_each_new_notification(self, make_messages, serve):
        messages = make_messages(sse_heartbeat=timedelta(seconds=30))
        from marketplace.gateway import in_process

        url = serve(in_process({"messages": messages.harness.app}))
        client_id = new_id()
        stream = Stream(f"{url}/notifications/stream", token(messages, client_id))
        try:
            assert stream.response.status == 200
            assert stream.response.getheader("Content-Type").startswith("text/event-stream")
            assert stream.frame().retry == 3000
            messages.proposal_submitted(Proposal(client_id=client_id))
            committed = time.monotonic()
            [frame] = stream.events(1)
            assert frame.at - committed < 1.0
            assert (frame.id, frame.event, frame.notification["kind"]) == ("1", "notification", "proposal.received")
        finally:
            stream.close()

    def test_last_event_id_replays_what_came_after_it_oldest_first(self, messages, serve):
        client_id = new_id()
        for _ in range(3):
            messages.proposal_submitted(Proposal(client_id=client_id))
        url = serve(messages.harness.app)

        stream = Stream(f"{url}/notifications/stream", token(messages, client_id), last_event_id="1")
        try:
            assert [frame.id for frame in stream.events(2)] == ["2", "3"]
        finally:
            stream.close()

    def test_without_last_event_id_only_what_is_new(self, messages, serve):
        client_id = new_id()
        messages.proposal_submitted(Proposal(client_id=client_id))
        url = serve(messages.harness.app)

        for ignored in (None, "soon", "-1"):
            stream = Stream(f"{url}/notifications/stream", token(messages, client_id), last_event_id=ignored)
            try:
                stream.frame()
                messages.proposal_submitted(Proposal(client_id=client_id))
                [frame] = stream.events(1)
                assert frame.notification["seq"] > 1
            finally:
                stream.close()

    def test_what_is_made_after_the_stream_has_begun_is_sent_however_late_it_is_first_read(self, messages):
        """"Now" is fixed when the response begins, not when the server first gets to write to it."""
        client_id = new_id()
        messages.proposal_submitted(Proposal(client_id=client_id))
        body = live.events(messages.harness.runtime, client_id, since=None, ends_at=time.monotonic() + 10,
                           heartbeat=timedelta(seconds=5))
        messages.proposal_submitted(Proposal(client_id=client_id))
        assert next(body) == b"retry: 3000\n\n"
        assert next(body).startswith(b"id: 2\nevent: notification\n")

    def test_heartbeats_keep_it_alive_and_it_ends_at_its_maximum_age(self, make_messages, serve):
        messages = make_messages(sse_heartbeat=timedelta(milliseconds=300), sse_max_age=timedelta(seconds=2))
        url = serve(messages.harness.app)
        stream = Stream(f"{url}/notifications/stream", token(messages, new_id()))
        started = time.monotonic()
        frames = []
        while (frame := stream.frame()) is not None:
            frames.append(frame)
        assert frames[0].retry == 3000
        assert sum(1 for frame in frames if frame.comment == "keep-alive") >= 3
        assert 1.9 < time.monotonic() - started < 5

    def test_it_ends_when_the_token_expires(self, settings, harness, make_sqlite_database, serve):
        from services.messages import SERVICE
        from tests.messages.helpers import Messages

        messages = Messages(harness(SERVICE, settings.replace(access_token_ttl=timedelta(seconds=1)),
                                    make_sqlite_database("messages")))
        url = serve(messages.harness.app)
        stream = Stream(f"{url}/notifications/stream", token(messages, new_id()))
        started = time.monotonic()
        while stream.frame() is not None:
            pass
        assert time.monotonic() - started < 3

    def test_no_token_is_a_401_problem(self, messages):
        response = messages.client.get("/notifications/stream")

        assert response.status_code == 401
        assert response.content_type == "application/problem+json"


@pytest.mark.amqp
@pytest.mark.postgres
@pytest.mark.slow
class TestAcrossProcesses:
    def test_gunicorn_behind_the_gateway_delivers_a_notification_made_by_another_process(self, messages_pg, amqp_url,
                                                                                      tmp_path):
        """The API and the gateway as operators run them (gunicorn, gthread); the notification is made
        by this test's own process on the same database."""
        api_port, gateway_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MARKETPLACE_"))}
        env.update(AMQP_URL=amqp_url, VAR_DIR=str(messages_pg.harness.settings.var_dir), LOG_LEVEL="WARNING",
                   DATABASE_URL_MESSAGES=messages_pg.harness.runtime.db.url.render_as_string(hide_password=False),
                   GATEWAY_MESSAGES_URL=f"http://127.0.0.1:{api_port}", SSE_HEARTBEAT="1s")
        me = [sys.executable, "-m", "marketplace.cli"]
        processes = [subprocess.Popen([*me, "api", "messages", "--port", str(api_port), "--workers", "1"], env=env,
                                      cwd=tmp_path, start_new_session=True),
                     subprocess.Popen([*me, "gateway", "--port", str(gateway_port), "--workers", "1"], env=env,
                                      cwd=tmp_path, start_new_session=True)]
        try:
            import requests

            def up(port: int, path: str) -> bool:
                try:
                    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code < 500
                except requests.RequestException:
                    return False

            eventually(lambda: up(api_port, "/health") and up(gateway_port, "/health"), timeout=60)
            client_id = new_id()
            messages_pg.proposal_submitted(Proposal(client_id=client_id))
            stream = Stream(f"http://127.0.0.1:{gateway_port}/notifications/stream", token(messages_pg, client_id),
                            last_event_id="0")
            try:
                assert stream.frame().retry == 3000
                [replayed] = stream.events(1)
                assert replayed.id == "1"
                latencies = []
                for _ in range(3):
                    messages_pg.proposal_submitted(Proposal(client_id=client_id))
                    committed = time.monotonic()
                    [frame] = stream.events(1)
                    latencies.append(frame.at - committed)
                assert max(latencies) < 1.0, latencies
                beat = stream.frame()
                assert beat.comment == "keep-alive"
            finally:
                stream.close()
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
