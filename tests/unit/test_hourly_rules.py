"""The pure rules of hourly billing: the period of a moment and of an entry, the cut at the weekly limit,
the money of the minutes, and the exact cents of a disputed invoice's split."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import given, strategies as st

from services.contracts.timesheets import (ANCHOR, amount_for, billable, entry_period_problem, entry_period_start,
                                           limit_at, pending_limit, period_at)
from services.payments.invoices import split_shares
from services.payments.ledger import fee

WEEK, HOURS_12 = timedelta(days=7), timedelta(hours=12)


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


class TestPeriods:
    def test_a_week_runs_monday_to_monday_and_its_edit_window_ends_monday_noon(self):
        period = period_at(utc(2026, 12, 2, 15, 30), WEEK, HOURS_12)  # a Wednesday
        assert (period.start, period.end, period.edit_until) == (
            utc(2026, 11, 30), utc(2026, 12, 7), utc(2026, 12, 7, 12))
        assert period.start.weekday() == 0

    def test_status_moves_from_open_to_the_edit_window_to_closed(self):
        period = period_at(utc(2026, 12, 2), WEEK, HOURS_12)
        assert period.status(utc(2026, 12, 6, 23, 59)) == "open"
        assert period.status(utc(2026, 12, 7, 11, 59, 59)) == "in_edit_window"
        assert period.status(utc(2026, 12, 7, 12)) == "closed"

    def test_any_length_is_anchored_on_the_monday_of_1970(self):
        length = timedelta(seconds=7)  # does not divide a week
        moment = utc(2026, 12, 2, 10, 0, 3)
        period = period_at(moment, length, timedelta(seconds=2))
        assert (period.start - ANCHOR) % length == timedelta(0)
        assert period.start <= moment < period.end

    def test_an_entry_goes_to_the_period_of_its_last_second_or_of_now_if_earlier(self):
        now = utc(2026, 12, 2, 9)
        assert entry_period_start(date(2026, 12, 2), now, WEEK) == utc(2026, 11, 30)
        assert entry_period_start(date(2026, 11, 29), now, WEEK) == utc(2026, 11, 23)  # Sunday: last week

    def test_an_entry_must_fall_in_a_begun_period_and_not_after_today(self):
        now = utc(2026, 12, 2, 9)
        assert entry_period_problem(date(2026, 12, 2), utc(2026, 11, 30), WEEK, now) is None
        assert entry_period_problem(date(2026, 12, 3), utc(2026, 11, 30), WEEK, now).startswith("date")
        assert entry_period_problem(date(2026, 12, 2), utc(2026, 11, 23), WEEK, now).startswith("date")
        assert entry_period_problem(date(2026, 12, 2), utc(2026, 12, 1), WEEK, now).startswith("period_start")
        assert "begun" in entry_period_problem(date(2026, 12, 2), utc(2026, 12, 7), WEEK, utc(2026, 12, 2))


class TestTheLimit:
    def test_entries_fill_the_limit_the_crossing_one_in_part_later_ones_zero(self):
        assert billable([60, 45, 30, 20], 120) == [60, 45, 15, 0]

    def test_a_change_of_the_limit_applies_from_the_period_it_names(self):
        limits = [{"from": None, "hours": 10}, {"from": "2026-12-07T00:00:00+00:00", "hours": 20}]
        assert limit_at(limits, utc(2026, 12, 6, 23)) == 10
        assert limit_at(limits, utc(2026, 12, 7)) == 20
        assert pending_limit(limits, utc(2026, 12, 6))["hours"] == 20
        assert pending_limit(limits, utc(2026, 12, 7)) is None
        assert limit_at(None, utc(2026, 12, 7)) is None

    @given(st.lists(st.integers(1, 1440), max_size=30), st.integers(1, 80), st.integers(100, 1_000_000))
    def test_billable_minutes_are_the_total_up_to_the_limit_and_the_money_matches_to_the_cent(
            self, minutes, hours, rate):
        billed = billable(minutes, hours * 60)
        assert sum(billed) == min(sum(minutes), hours * 60)
        assert all(0 <= part <= whole for part, whole in zip(billed, minutes))
        assert amount_for(sum(billed), rate) * 60 - sum(billed) * rate in range(-29, 31)  # within half a cent, halves up

    def test_the_money_is_rounded_half_up(self):
        assert amount_for(1, 150) == 3  # 2.5 cents
        assert amount_for(1, 149) == 2  # 2.48
        assert amount_for(120, 5_000) == 10_000


class TestSplit:
    def test_each_side_and_the_platform_get_exact_cents(self):
        amount, client_fee = 10_001, fee(10_001, 500)  # 500.05 → 500
        shares = split_shares(amount, client_fee, 3_333, client_fee_bps=500, freelancer_fee_bps=1000)
        assert shares == {"freelancer_net": 3_000, "freelancer_fee": 333, "refund_amount": 6_668,
                          "client_fee_refund": 500 - 167}

    @given(st.integers(1, 10**9), st.data(), st.integers(0, 10_000), st.integers(0, 10_000))
    def test_a_split_hands_out_exactly_what_the_client_paid(self, amount, data, client_bps, freelancer_bps):
        freelancer_amount = data.draw(st.integers(0, amount))
        client_fee = fee(amount, client_bps)
        shares = split_shares(amount, client_fee, freelancer_amount, client_bps, freelancer_bps)
        assert min(shares.values()) >= 0
        platform_keeps = shares["freelancer_fee"] + client_fee - shares["client_fee_refund"]
        assert shares["freelancer_net"] + shares["refund_amount"] + shares["client_fee_refund"] + platform_keeps \
            == amount + client_fee
