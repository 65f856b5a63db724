"""Files: uploaded raw or as multipart, kept in the database, safe to download, private until attached."""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from services.messages.attachments import MAX_SIZE
from services.messages.models import Attachment
from shared.db import utcnow
from tests.support import new_id


@pytest.fixture
def room(messages):
    proposal = messages.proposal_submitted()
    return proposal, messages.room_of(proposal)["id"]


def upload(messages, room_id, user_id, content=b"%PDF-1.7 hello", content_type="application/pdf", filename="brief.pdf"):
    query = {} if filename is None else {"filename": filename}
    return messages.client.post(f"/rooms/{room_id}/attachments", data=content, query_string=query,
                                headers={**messages.harness.headers(user_id), "Content-Type": content_type})


class TestUpload:
    def test_a_raw_upload_is_kept_with_its_digest_and_attached_to_the_next_message(self, messages, room):
        proposal, room_id = room
        content = b"%PDF-1.7 the brief"

        uploaded = upload(messages, room_id, proposal.client_id, content)

        assert uploaded.status_code == 201, uploaded.json
        assert (uploaded.json["size"], uploaded.json["sha256"], uploaded.json["message_id"]) == (
            len(content), hashlib.sha256(content).hexdigest(), None)
        message = messages.posted(room_id, proposal.client_id, "The brief", attachment_ids=[uploaded.json["id"]])
        assert [a["id"] for a in message["attachments"]] == [uploaded.json["id"]]
        assert messages.emitted("messages.message.posted")[0]["attachment_ids"] == [uploaded.json["id"]]

    def test_a_multipart_upload_takes_its_name_and_type_from_the_part(self, messages, room):
        proposal, room_id = room

        response = messages.client.post(
            f"/rooms/{room_id}/attachments", headers=messages.harness.headers(proposal.client_id),
            data={"file": (io.BytesIO(b"a,b\n1,2\n"), "numbers.csv", "text/csv; charset=utf-8")},
            content_type="multipart/form-data")

        assert response.status_code == 201, response.json
        assert (response.json["filename"], response.json["content_type"]) == ("numbers.csv", "text/csv; charset=utf-8")

    def test_exactly_ten_mebibytes_is_accepted_and_one_byte_more_is_413_with_nothing_kept(self, messages, room):
        proposal, room_id = room

        assert upload(messages, room_id, proposal.client_id, b"x" * MAX_SIZE, "application/octet-stream").status_code == 201
        too_big = upload(messages, room_id, proposal.client_id, b"x" * (MAX_SIZE + 1), "application/octet-stream")

        assert too_big.status_code == 413
        with messages.harness.runtime.db.transaction() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1

    @pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/x-msdownload", "", "nonsense"])
    def test_a_type_not_allowed_is_415(self, messages, room, content_type):
        proposal, room_id = room

        assert upload(messages, room_id, proposal.client_id, content_type=content_type).status_code == 415

    def test_office_documents_are_allowed(self, messages, room):
        proposal, room_id = room
        docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

        assert upload(messages, room_id, proposal.client_id, b"PK..", docx, "plan.docx").status_code == 201

    @pytest.mark.parametrize("filename", [None, "", "../etc/passwd", "a\\b", "line\nbreak", "x" * 256, "\u202egpj.exe"])
    def test_a_bad_filename_is_422(self, messages, room, filename):
        proposal, room_id = room

        response = upload(messages, room_id, proposal.client_id, filename=filename)

        assert response.status_code in (400, 422), response.json
        assert any("filename" in name for name in response.json["errors"])

    def test_the_freelancer_may_not_upload_before_the_client_writes(self, messages, room):
        proposal, room_id = room

        assert upload(messages, room_id, proposal.freelancer_id).status_code == 409

    def test_the_twenty_first_unattached_upload_is_409(self, messages, room):
        proposal, room_id = room
        for _ in range(20):
            assert upload(messages, room_id, proposal.client_id).status_code == 201

        assert upload(messages, room_id, proposal.client_id).status_code == 409

    def test_attaching_someone_elses_upload_is_422(self, messages, room):
        proposal, room_id = room
        messages.posted(room_id, proposal.client_id)
        theirs = upload(messages, room_id, proposal.freelancer_id).json

        response = messages.post(room_id, proposal.client_id, "mine?", attachment_ids=[theirs["id"]])

        assert response.status_code == 422
        assert "attachment_ids" in response.json["errors"]


class TestDownload:
    def test_the_headers_make_it_a_download_never_a_page(self, messages, room):
        proposal, room_id = room
        uploaded = upload(messages, room_id, proposal.client_id, b"{\"a\": 1}", "application/json", "résumé \"v2\".json").json

        response = messages.get(f"/rooms/{room_id}/attachments/{uploaded['id']}", proposal.client_id)

        assert response.status_code == 200
        assert response.data == b"{\"a\": 1}"
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Content-Length"] == "8"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="r_sum_ _v2_.json"')
        assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.json" in disposition

    def test_the_other_party_sees_it_only_once_attached_and_strangers_never(self, messages, room):
        proposal, room_id = room
        uploaded = upload(messages, room_id, proposal.client_id).json
        path = f"/rooms/{room_id}/attachments/{uploaded['id']}"

        assert messages.get(path, proposal.freelancer_id).status_code == 404
        assert messages.get(path, new_id(), roles=("admin",)).status_code == 404
        messages.posted(room_id, proposal.client_id, "here", attachment_ids=[uploaded["id"]])
        assert messages.get(path, proposal.freelancer_id).status_code == 200
        assert messages.get(path, new_id(), roles=("admin",)).status_code == 200
        assert messages.get(path, new_id()).status_code == 404


class TestPruning:
    def test_unattached_uploads_go_after_a_day_and_attached_ones_stay(self, messages, room):
        from shared.worker import Worker

        proposal, room_id = room
        kept = upload(messages, room_id, proposal.client_id).json
        messages.posted(room_id, proposal.client_id, "kept", attachment_ids=[kept["id"]])
        dropped = upload(messages, room_id, proposal.client_id).json
        with messages.harness.runtime.db.transaction() as session:
            session.execute(sa.update(Attachment).values(created_at=utcnow() - timedelta(hours=25)))

        counts = Worker(messages.harness.runtime).prune()

        assert counts["unattached_uploads"] == 1
        with messages.harness.runtime.db.transaction() as session:
            assert session.get(Attachment, dropped["id"]) is None
            assert session.get(Attachment, kept["id"]) is not None


class TestThroughTheGateway:
    """Over real sockets: caller → the gateway of `make run` and `marketplace stack` → messages, and back."""

    def test_ten_mebibytes_go_up_and_come_back_intact_and_one_byte_more_is_a_413_problem(self, messages, room,
                                                                                          serve):
        from marketplace import gateway, registry

        proposal, room_id = room
        targets = {name: "http://127.0.0.1:9" for name in registry.NAMES}
        url = serve(gateway.proxy({**targets, "messages": serve(messages.harness.app)}))
        headers = {**messages.harness.headers(proposal.client_id), "Content-Type": "application/octet-stream"}
        content = bytes(range(256)) * (MAX_SIZE // 256)

        files = f"{url}/rooms/{room_id}/attachments?filename=export.bin"
        uploaded = requests.post(files, data=content, headers=headers, timeout=60)
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["sha256"] == hashlib.sha256(content).hexdigest()
        back = requests.get(f"{url}/rooms/{room_id}/attachments/{uploaded.json()['id']}", headers=headers, timeout=60)
        assert back.status_code == 200
        assert hashlib.sha256(back.content).digest() == hashlib.sha256(content).digest()

        too_big = requests.post(files, data=content + b"x", headers=headers, timeout=60)
        assert too_big.status_code == 413
        assert too_big.headers["Content-Type"] == "application/problem+json"
