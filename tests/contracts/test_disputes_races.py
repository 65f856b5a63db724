"""Races on PostgreSQL and RabbitMQ: a party's move against the timer of the same deadline, both parties at
once, a cancel against a dispute's end, and duplicated answers. Under the contract's row lock exactly one
wins, decided by the clock; nothing is asked of payments twice."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

from tests.contracts.claims import as_admin, disputed, on_dispute, on_request, opened, split, submitted
from tests.support import eventually

pytestmark = pytest.mark.postgres

WINDOW = timedelta(milliseconds=600)


def at(deadline: str, offset: float) -> None:
    """Sleep until `offset` seconds after `deadline` (an RFC 3339 time from the API)."""
    due = datetime.fromisoformat(deadline.replace("Z", "+00:00")).timestamp() + offset
    time.sleep(max(0.0, due - time.time()))


def together(*actions) -> list:
    """Run each action in its own thread, released at one moment; their results in order."""
    barrier, results = threading.Barrier(len(actions)), [None] * len(actions)

    def run(i):
        barrier.wait()
        results[i] = actions[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def accept_near_the_deadline(contracts, offset: float) -> int:
    """The freelancer accepts `offset` seconds from the request's respond_by; the accept's status."""
    deal = submitted(contracts)
    request = opened(deal, 2_000)
    at(request["respond_by"], offset)
    status = on_request(deal, request["id"], "accept", deal.freelancer).status_code
    assert status in (202, 409)
    deal.wait_for("splitting", index=0)
    got = deal.desk.http.get(f"/contracts/{deal.id}/milestones/{deal.milestone_id(0)}/refund-requests/"
                             f"{request['id']}", headers=deal.desk.headers(deal.client)).get_json()
    assert got["status"] == "accepted" and got["auto"] is (status == 409)
    assert len(deal.emitted("contracts.milestone.split_requested")) == 1
    return status


class TestAcceptRacingTheResponseTimer:
    def test_exactly_one_of_the_accept_and_the_default_wins(self, make_contracts_live):
        contracts = make_contracts_live(refund_response_window=WINDOW)
        outcomes = [accept_near_the_deadline(contracts, offset) for offset in (-0.05, -0.01, 0.0, 0.01, 0.05)]
        assert outcomes[-1] == 409  # past the deadline the clock refuses, whether or not the timer fired


def both_accept(contracts) -> None:
    deal = submitted(contracts)
    did = disputed(deal)["id"]
    on_dispute(deal, did, "respond", deal.client, {"statement": "No"})
    as_admin(deal, did, "proposal", {"freelancer_amount": 5_000, "refund_amount": 5_000, "note": None})

    results = together(lambda: on_dispute(deal, did, "accept", deal.client).status_code,
                       lambda: on_dispute(deal, did, "accept", deal.freelancer).status_code)

    assert results == [200, 200]
    assert on_dispute(deal, did, "withdraw", deal.client).status_code == 409  # resolved
    assert len(deal.emitted("contracts.milestone.split_requested")) == 1
    assert len(deal.emitted("contracts.dispute.resolved")) == 1


class TestBothPartiesAcceptAtOnce:
    def test_the_dispute_is_agreed_once_and_one_split_is_asked(self, contracts_live):
        for _ in range(4):
            both_accept(contracts_live)


def claim_near_auto_approval(contracts, offset: float) -> int:
    """The client asks a refund `offset` seconds from the work's auto-approval; the request's status."""
    deal = contracts.active()
    submitted_at = deal.act(0, "submit", deal.freelancer, {"message": "Done"}).get_json()["auto_approve_at"]
    at(submitted_at, offset)
    response = deal.desk.http.post(
        f"/contracts/{deal.id}/milestones/{deal.milestone_id(0)}/refund-requests",
        json={"amount": 1_000, "reason": "x"}, headers=deal.desk.headers(deal.client))
    assert response.status_code in (201, 409)
    if response.status_code == 201:
        request = response.get_json()
        assert on_request(deal, request["id"], "dispute", deal.freelancer,
                          {"reason": "Done"}).status_code == 201
        time.sleep(0.3)  # the auto-approval timer, had it been left set, would have fired by now
        assert deal.milestone(0)["status"] == "disputed"
        assert not deal.emitted("contracts.milestone.approved")
    else:
        deal.wait_for("approved", index=0)
        assert not deal.emitted("contracts.refund_request.opened")
    return response.status_code


class TestClaimRacingAutoApproval:
    def test_work_is_either_approved_or_claimed_never_both(self, make_contracts_live):
        contracts = make_contracts_live(auto_approve_after=timedelta(milliseconds=700))
        seen = {claim_near_auto_approval(contracts, offset) for offset in (-0.1, -0.02, 0.0, 0.02, 0.1)}
        assert 409 in seen


def cancel_during_a_dispute(contracts) -> None:
    deal = submitted(contracts)
    did = disputed(deal)["id"]

    cancel, withdraw = together(lambda: deal.post("cancel", deal.client).status_code,
                                lambda: on_dispute(deal, did, "withdraw", deal.freelancer).status_code)

    assert (cancel, withdraw) == (202, 200)
    assert deal.contract()["status"] == "cancelling"
    [asked] = deal.emitted("contracts.milestone.split_requested")
    assert asked["refund_amount"] == 3_000
    assert not deal.emitted("contracts.milestone.refund_requested")
    split(deal, 0, 7_000, 3_000)
    assert deal.wait_for("cancelled")["released_amount"] == 7_000


class TestCancelDuringADispute:
    def test_the_contract_waits_for_the_dispute_and_its_split(self, contracts_live):
        for _ in range(4):
            cancel_during_a_dispute(contracts_live)


class TestDuplicatedAnswers:
    def test_a_split_answered_twice_counts_its_money_once(self, contracts_live):
        deal = submitted(contracts_live, amounts=(10_000, 5_000))
        request = opened(deal, 3_000)
        on_request(deal, request["id"], "accept", deal.freelancer)
        split(deal, 0, 7_000, 3_000)
        split(deal, 0, 7_000, 3_000)
        deal.wait_for("split", index=0)
        eventually(lambda: deal.desk.consumed("payments.escrow.split") >= 2, timeout=20)
        contract = deal.contract()
        assert (contract["status"], contract["released_amount"]) == ("active", 7_000)
