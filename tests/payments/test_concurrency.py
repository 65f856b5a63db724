"""Races on PostgreSQL: many threads after the same money, and the database keeps it right."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from services.payments import ledger
from services.payments.models import JournalEntry
from tests.payments.helpers import Milestone, redelivered
from tests.support import new_id

pytestmark = pytest.mark.postgres


def together(count: int, action) -> list:
    """Run `action(i)` in `count` threads released at the same moment."""
    start = threading.Barrier(count)

    def run(i):
        start.wait()
        return action(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def entries(payments, key: str) -> int:
    with payments.db.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(JournalEntry).where(JournalEntry.key == key))


class TestRacingFundingRequests:
    def test_fifty_deliveries_of_one_request_fund_it_once(self, payments_pg):
        milestone = Milestone(amount=10_000)
        payments_pg.deposit(milestone.client_id, 50_000)
        request = milestone.funding_requested()
        results = together(50, lambda _: payments_pg.deliver(redelivered(request)))
        assert all(result.settled for result in results), Counter(r.outcome for r in results)
        assert entries(payments_pg, f"escrow-fund:{milestone.milestone_id}") == 1
        assert payments_pg.balance(milestone.client_id)["available"] == 50_000 - 10_500
        assert payments_pg.account(ledger.escrow(milestone.milestone_id)) == 10_000
        answers = payments_pg.answers(milestone)
        assert len(answers) == 50 and {a["type"] for a in answers} == {"payments.escrow.funded"}

    def test_milestones_racing_for_one_balance_fund_only_what_it_covers(self, payments_pg):
        first = Milestone(amount=1_000, client_fee_bps=0)
        milestones = [first] + [first.next() for _ in range(19)]
        payments_pg.deposit(first.client_id, 7_000)
        together(20, lambda i: payments_pg.deliver(milestones[i].funding_requested()))
        outcomes = Counter(payments_pg.answers(m)[-1]["type"] for m in milestones)
        assert outcomes == {"payments.escrow.funded": 7, "payments.escrow.funding_failed": 13}
        assert payments_pg.balance(first.client_id)["available"] == 0
        assert payments_pg.balance(first.client_id)["in_escrow"] == 7_000


class TestReleaseRacingRefund:
    def test_each_milestone_is_released_or_refunded_never_both(self, payments_pg):
        first = Milestone(amount=2_000)
        milestones = [first] + [first.next() for _ in range(9)]
        for milestone in milestones:
            payments_pg.fund(milestone)
        events = [event for m in milestones for event in (m.approved(), m.refund_requested(), m.approved())]
        results = together(len(events), lambda i: payments_pg.deliver(events[i]))
        assert all(result.settled for result in results)
        for milestone in milestones:
            final = {a["type"] for a in payments_pg.answers(milestone)[1:]}
            assert final in ({"payments.escrow.released"}, {"payments.escrow.refunded"}), final
            released = entries(payments_pg, f"escrow-release:{milestone.milestone_id}")
            refunded = entries(payments_pg, f"escrow-refund:{milestone.milestone_id}")
            assert released + refunded == 1
            assert payments_pg.account(ledger.escrow(milestone.milestone_id)) == 0


class TestRacingPayouts:
    def test_payouts_racing_past_the_balance_leave_it_at_zero(self, payments_pg):
        freelancer = payments_pg.earn(10_000)
        statuses = together(25, lambda _: payments_pg.payout(freelancer, 1_000).status_code)
        assert Counter(statuses) == {202: 10, 409: 15}
        assert payments_pg.balance(freelancer)["available"] == 0
        assert payments_pg.balance(freelancer)["in_payout"] == 10_000


class TestRacingDeposits:
    def test_one_idempotency_key_credits_once(self, payments_pg):
        client = new_id()
        responses = together(20, lambda _: payments_pg.deposit(client, 5_000, **{"Idempotency-Key": "same-key"}))
        statuses = Counter(response.status_code for response in responses)
        assert set(statuses) <= {201, 409} and statuses[201] >= 1, statuses
        assert len({response.json["id"] for response in responses if response.status_code == 201}) == 1
        assert payments_pg.balance(client)["available"] == 5_000

    def test_different_keys_each_credit(self, payments_pg):
        client = new_id()
        together(20, lambda i: payments_pg.deposit(client, 1_000, **{"Idempotency-Key": f"key-{i}"}))
        assert payments_pg.balance(client)["available"] == 20_000
