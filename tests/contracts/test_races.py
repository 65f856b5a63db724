"""Requests racing for the same money: exactly one wins, the others get a clean 409."""
from __future__ import annotations

import threading


def at_once(count: int, call) -> list[int]:
    barrier, codes = threading.Barrier(count), []

    def run():
        barrier.wait()
        codes.append(call().status_code)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(codes)


class TestRacingRequests:
    def test_five_fund_calls_request_one_funding(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active()
        deal.post("milestones", deal.client, {"title": "Phase 2", "amount": 6_000})

        assert at_once(5, lambda: deal.act(1, "fund", deal.client)) == [202, 409, 409, 409, 409]
        assert len(deal.emitted("contracts.milestone.funding_requested", milestone_id=deal.milestone_id(1))) == 1

    def test_five_approve_calls_ask_for_one_release(self, make_any_contracts):
        contracts = make_any_contracts()
        deal = contracts.active()
        deal.act(0, "submit", deal.freelancer, {"message": "Done"})

        assert at_once(5, lambda: deal.act(0, "approve", deal.client)) == [202, 409, 409, 409, 409]
        assert len(deal.emitted("contracts.milestone.approved")) == 1

    def test_accept_and_decline_at_once_leave_one_answer(self, contracts_live):
        deal = contracts_live.offered()
        calls = iter([lambda: deal.post("accept", deal.freelancer), lambda: deal.post("decline", deal.freelancer)])
        lock = threading.Lock()

        def next_call():
            with lock:
                call = next(calls)
            return call()

        codes = at_once(2, next_call)
        assert codes in ([200, 409], [202, 409])
        status = deal.contract()["status"]
        assert status == ("active" if 200 in codes else "cancelling")
        assert len(deal.emitted("contracts.contract.activated")) + len(
            deal.emitted("contracts.milestone.refund_requested")) == 1
