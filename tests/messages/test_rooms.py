"""Rooms: made by proposals, opened by the client or a hire, linked to contracts, closed by suspensions."""
from __future__ import annotations

import pytest

from shared.consumer import Outcome
from tests.messages.helpers import Proposal
from tests.support import new_id, reinstated, suspended


class TestOpenRoom:
    def test_a_proposal_makes_a_room_awaiting_the_client(self, messages):
        proposal = messages.proposal_submitted()

        room = messages.room_of(proposal)
        assert (room["status"], room["job_title"], room["client_id"], room["freelancer_id"]) == (
            "awaiting_client", proposal.job_title, proposal.client_id, proposal.freelancer_id)
        assert (room["contract_id"], room["last_message"], room["unread_count"], room["read_up_to"]) == (None, None, 0, None)
        assert messages.emitted("messages.room.opened") == [{"room_id": room["id"], **proposal.parties()}]

    def test_the_same_proposal_twice_makes_one_room(self, messages):
        proposal = messages.proposal_submitted()
        messages.proposal_submitted(proposal)

        assert len(messages.emitted("messages.room.opened")) == 1

    def test_the_freelancer_may_not_write_first(self, messages):
        proposal = messages.proposal_submitted()
        room = messages.room_of(proposal)

        response = messages.post(room["id"], proposal.freelancer_id)

        assert response.status_code == 409
        assert "client writes first" in response.json["detail"]

    def test_the_clients_first_message_opens_the_room(self, messages):
        proposal = messages.proposal_submitted()
        room = messages.room_of(proposal)

        first = messages.posted(room["id"], proposal.client_id, "Tell me more")
        reply = messages.posted(room["id"], proposal.freelancer_id, "Gladly")

        assert (first["seq"], reply["seq"]) == (1, 2)
        room = messages.room_of(proposal, proposal.freelancer_id)
        assert room["status"] == "open"
        assert room["last_message"]["id"] == reply["id"]
        assert room["unread_count"] == 0  # the freelancer's own reply marks what it answers as read

    def test_a_hire_opens_the_room_and_links_its_contract(self, messages):
        proposal = messages.proposal_submitted()

        contract_id = messages.hire_requested(proposal)

        room = messages.room_of(proposal, proposal.freelancer_id)
        assert (room["status"], room["contract_id"]) == ("open", contract_id)
        messages.posted(room["id"], proposal.freelancer_id)

    def test_a_rehire_links_the_newest_contract_and_both_find_the_room(self, messages):
        proposal = messages.proposal_submitted()
        first, second = messages.hire_requested(proposal), messages.hire_requested(proposal)

        room = messages.room_of(proposal)
        assert room["contract_id"] == second
        for contract_id in (first, second):
            found = messages.get("/rooms", proposal.client_id, contract_id=contract_id).json["items"]
            assert [r["id"] for r in found] == [room["id"]]

    def test_a_hire_before_its_room_is_retried(self, messages):
        proposal = Proposal()
        event = messages.event("jobs.hire.requested", {**proposal.parties(), "contract_id": new_id(), "title": "x",
                                                       "milestones": [{"milestone_id": new_id(), "title": "A", "amount": 1}]})

        assert messages.harness.deliver(event).outcome is Outcome.RETRY


class TestPrivacy:
    def test_strangers_are_told_nothing(self, messages):
        proposal = messages.proposal_submitted()
        room = messages.room_of(proposal)
        stranger = new_id()

        assert messages.get(f"/rooms/{room['id']}", stranger).status_code == 404
        assert messages.get(f"/rooms/{room['id']}/messages", stranger).status_code == 404
        assert messages.post(room["id"], stranger).status_code == 404
        assert messages.get("/rooms", stranger).json["items"] == []

    def test_admins_read_but_do_not_write(self, messages):
        proposal = messages.proposal_submitted()
        room = messages.room_of(proposal)
        messages.posted(room["id"], proposal.client_id, "Hi")
        admin = new_id()

        seen = messages.get(f"/rooms/{room['id']}", admin, roles=("admin",)).json
        assert (seen["read_up_to"], seen["unread_count"]) == (None, 0)
        assert len(messages.get(f"/rooms/{room['id']}/messages", admin, roles=("admin",)).json["items"]) == 1
        response = messages.client.post(f"/rooms/{room['id']}/messages", json={"body": "x"},
                                        headers=messages.harness.headers(admin, ["admin"]))
        assert response.status_code == 403


class TestSuspension:
    def test_a_suspended_partys_rooms_become_read_only(self, messages):
        proposal = messages.proposal_submitted()
        room = messages.room_of(proposal)

        assert messages.harness.deliver(suspended(proposal.freelancer_id)).outcome is Outcome.HANDLED

        room = messages.room_of(proposal)
        assert (room["status"], room["read_only_reason"]) == ("read_only", "party_suspended")
        assert messages.post(room["id"], proposal.client_id).status_code == 409
        assert messages.emitted("messages.room.made_read_only") == [{"room_id": room["id"], "reason": "party_suspended"}]

    def test_a_room_made_after_the_suspension_starts_read_only(self, messages):
        proposal = Proposal()
        messages.harness.deliver(suspended(proposal.client_id))

        messages.proposal_submitted(proposal)

        assert messages.room_of(proposal)["status"] == "read_only"


class TestReinstatement:
    def test_the_room_reopens_as_it_was_before_the_suspension(self, any_messages):
        waiting, written = any_messages.proposal_submitted(), any_messages.proposal_submitted()
        any_messages.posted(any_messages.room_of(written)["id"], written.client_id, "Tell me more")
        for proposal in (waiting, written):
            any_messages.harness.deliver(suspended(proposal.freelancer_id))
            assert any_messages.room_of(proposal)["status"] == "read_only"

        for proposal in (waiting, written):
            assert any_messages.harness.deliver(reinstated(proposal.freelancer_id)).outcome is Outcome.HANDLED

        assert (any_messages.room_of(waiting)["status"], any_messages.room_of(waiting)["read_only_reason"]) == (
            "awaiting_client", None)
        room = any_messages.room_of(written)
        assert room["status"] == "open"
        assert any_messages.post(room["id"], written.freelancer_id).status_code == 201
        assert {event["room_id"]: event["status"] for event in any_messages.emitted("messages.room.reopened")} == {
            any_messages.room_of(waiting)["id"]: "awaiting_client", room["id"]: "open"}

    def test_a_hire_made_while_it_was_closed_reopens_it_open(self, any_messages):
        proposal = any_messages.proposal_submitted()
        any_messages.harness.deliver(suspended(proposal.client_id))
        any_messages.hire_requested(proposal)
        assert any_messages.room_of(proposal)["status"] == "read_only"

        any_messages.harness.deliver(reinstated(proposal.client_id))

        assert any_messages.room_of(proposal)["status"] == "open"

    def test_it_stays_closed_while_the_other_party_is_still_suspended(self, any_messages):
        proposal = any_messages.proposal_submitted()
        any_messages.harness.deliver(suspended(proposal.client_id))
        any_messages.harness.deliver(suspended(proposal.freelancer_id))

        any_messages.harness.deliver(reinstated(proposal.client_id))
        assert any_messages.room_of(proposal)["status"] == "read_only"
        assert any_messages.emitted("messages.room.reopened") == []

        any_messages.harness.deliver(reinstated(proposal.freelancer_id))
        assert any_messages.room_of(proposal)["status"] == "awaiting_client"

    def test_the_same_reinstatement_twice_reopens_once(self, any_messages):
        proposal = any_messages.proposal_submitted()
        any_messages.harness.deliver(suspended(proposal.freelancer_id))
        event = reinstated(proposal.freelancer_id)

        assert any_messages.harness.deliver(event).outcome is Outcome.HANDLED
        assert any_messages.harness.deliver(event).outcome is Outcome.DUPLICATE
        assert len(any_messages.emitted("messages.room.reopened")) == 1


class TestMessages:
    def test_unread_counts_and_read_marks_move_forward_only(self, messages):
        proposal = messages.proposal_submitted()
        room_id = messages.room_of(proposal)["id"]
        first = messages.posted(room_id, proposal.client_id, "one")
        second = messages.posted(room_id, proposal.client_id, "two")

        assert messages.room_of(proposal, proposal.freelancer_id)["unread_count"] == 2
        read = messages.client.post(f"/rooms/{room_id}/read", json={"message_id": second["id"]},
                                    headers=messages.harness.headers(proposal.freelancer_id))
        assert (read.status_code, read.json["unread_count"], read.json["read_up_to"]) == (200, 0, second["id"])
        back = messages.client.post(f"/rooms/{room_id}/read", json={"message_id": first["id"]},
                                    headers=messages.harness.headers(proposal.freelancer_id))
        assert back.json["read_up_to"] == second["id"]

    def test_a_read_mark_names_a_message_of_this_room(self, messages):
        proposal = messages.proposal_submitted()
        room_id = messages.room_of(proposal)["id"]

        response = messages.client.post(f"/rooms/{room_id}/read", json={"message_id": new_id()},
                                        headers=messages.harness.headers(proposal.client_id))

        assert response.status_code == 422
        assert "message_id" in response.json["errors"]

    def test_polling_after_the_last_message_seen(self, messages):
        proposal = messages.proposal_submitted()
        room_id = messages.room_of(proposal)["id"]
        sent = [messages.posted(room_id, proposal.client_id, f"m{i}") for i in range(3)]

        newer = messages.get(f"/rooms/{room_id}/messages", proposal.freelancer_id, after=sent[0]["id"]).json["items"]
        newest = messages.get(f"/rooms/{room_id}/messages", proposal.freelancer_id, order="desc").json["items"]

        assert [m["body"] for m in newer] == ["m1", "m2"]
        assert [m["seq"] for m in newest] == [3, 2, 1]
        other = messages.proposal_submitted()
        foreign = messages.posted(messages.room_of(other)["id"], other.client_id)
        assert messages.get(f"/rooms/{room_id}/messages", proposal.client_id, after=foreign["id"]).status_code == 422

    @pytest.mark.parametrize("body", ["", "   ", "x" * 5001, "nul\x00"])
    def test_a_bad_body_names_the_field(self, messages, body):
        proposal = messages.proposal_submitted()

        response = messages.post(messages.room_of(proposal)["id"], proposal.client_id, body)

        assert response.status_code in (400, 422)  # the guard refuses a NUL before the schema sees it (body.body)
        assert any(name.endswith("body") for name in response.json["errors"])

    def test_the_posted_event_never_carries_the_body(self, messages):
        proposal = messages.proposal_submitted()
        room_id = messages.room_of(proposal)["id"]

        message = messages.posted(room_id, proposal.client_id, "secret words")

        [event] = messages.emitted("messages.message.posted")
        assert event == {"message_id": message["id"], "room_id": room_id, "seq": 1, "sender_id": proposal.client_id,
                         "recipient_id": proposal.freelancer_id, "proposal_id": proposal.id, "contract_id": None,
                         "attachment_ids": []}

    def test_an_idempotency_key_posts_once(self, messages):
        proposal = messages.proposal_submitted()
        room_id = messages.room_of(proposal)["id"]
        headers = messages.harness.headers(proposal.client_id, **{"Idempotency-Key": new_id()})

        first = messages.client.post(f"/rooms/{room_id}/messages", json={"body": "once"}, headers=headers)
        again = messages.client.post(f"/rooms/{room_id}/messages", json={"body": "once"}, headers=headers)

        assert first.json["id"] == again.json["id"]
        assert len(messages.emitted("messages.message.posted")) == 1
