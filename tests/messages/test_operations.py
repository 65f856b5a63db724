"""What operators see of messages: its metrics, its API document, its races on PostgreSQL."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.messages.helpers import Proposal


class TestOperations:
    def test_metrics_count_webhook_deliveries_by_status(self, messages):
        text = messages.client.get("/metrics").get_data(as_text=True)

        for status in ("pending", "succeeded", "failed"):
            assert f'webhook_deliveries{{status="{status}"}} 0.0' in text

    def test_the_api_document_lists_every_route(self, messages):
        paths = messages.client.get("/openapi.json").json["paths"]

        assert {"/rooms", "/rooms/{room_id}", "/rooms/{room_id}/messages", "/rooms/{room_id}/read",
                "/rooms/{room_id}/attachments", "/rooms/{room_id}/attachments/{attachment_id}", "/notifications",
                "/notifications/unread-count", "/notifications/{notification_id}/read", "/notifications/read-all",
                "/notifications/stream", "/webhooks", "/webhooks/{webhook_id}",
                "/webhooks/{webhook_id}/deliveries"} <= set(paths)
        assert "text/event-stream" in paths["/notifications/stream"]["get"]["responses"]["200"]["content"]


@pytest.mark.postgres
class TestRaces:
    def test_messages_posted_at_once_are_numbered_in_commit_order_without_gaps(self, messages_pg):
        proposal = messages_pg.proposal_submitted(Proposal())
        room_id = messages_pg.room_of(proposal)["id"]
        messages_pg.posted(room_id, proposal.client_id, "first")

        with ThreadPoolExecutor(8) as pool:
            posted = list(pool.map(lambda i: messages_pg.posted(room_id, (proposal.client_id, proposal.freelancer_id)[i % 2],
                                                                f"m{i}"), range(16)))

        assert sorted(message["seq"] for message in posted) == list(range(2, 18))
        listed = messages_pg.get(f"/rooms/{room_id}/messages", proposal.client_id, limit=100).json["items"]
        assert [message["seq"] for message in listed] == list(range(1, 18))
