"""Deposits: a card pays into the client's available balance, once per Idempotency-Key."""
from __future__ import annotations

import sqlalchemy as sa

from services.payments.models import Deposit, Posting
from tests.support import new_id


class TestDeposit:
    def test_a_good_card_credits_the_available_balance(self, payments):
        client = new_id()
        response = payments.deposit(client, 25_000)
        assert response.status_code == 201, response.json
        assert response.json["status"] == "succeeded" and response.json["failure_reason"] is None
        assert response.json["amount"] == 25_000 and response.json["currency"] == "USD"
        assert response.json["created_at"].endswith("Z")
        assert payments.balance(client) == {"user_id": client, "currency": "USD", "available": 25_000, "pending": 0,
                                         "in_escrow": 0, "in_payout": 0}

    def test_any_other_luhn_valid_number_succeeds(self, payments):
        assert payments.deposit(new_id(), 500, card="5555 5555 5555 4444").status_code == 201

    def test_a_declined_card_is_402_and_credits_nothing(self, payments):
        client = new_id()
        response = payments.deposit(client, 10_000, card="4000000000000002")
        assert response.status_code == 402
        assert response.mimetype == "application/problem+json"
        assert response.json["failure_reason"] == "card_declined"
        assert payments.balance(client)["available"] == 0
        with payments.db.transaction() as session:
            failed = session.get(Deposit, response.json["deposit_id"])
            assert (failed.status, failed.failure_reason, failed.amount) == ("failed", "card_declined", 10_000)

    def test_a_card_without_funds_is_402(self, payments):
        client = new_id()
        response = payments.deposit(client, 10_000, card="4000000000009995")
        assert response.status_code == 402 and response.json["failure_reason"] == "insufficient_funds"
        assert payments.balance(client)["available"] == 0

    def test_a_number_failing_the_luhn_check_is_422_naming_card_number(self, payments):
        response = payments.deposit(new_id(), 10_000, card="4242424242424241")
        assert response.status_code == 422
        assert "card_number" in response.json["errors"]

    def test_amounts_outside_500_to_100000000_are_refused(self, payments):
        assert payments.deposit(new_id(), 499).status_code == 422
        assert payments.deposit(new_id(), 100_000_001).status_code == 422
        assert payments.deposit(new_id(), 100_000_000).status_code == 201

    def test_money_is_never_a_float_or_a_string(self, payments):
        for amount in (1000.0, "1000"):
            response = payments.client.post("/payments/deposits", headers=payments.headers(new_id(), "client"),
                                         json={"amount": amount, "card_number": "4242424242424242"})
            assert response.status_code == 422 and "amount" in response.json["errors"]

    def test_only_clients_deposit(self, payments):
        response = payments.client.post("/payments/deposits", json={"amount": 1000, "card_number": "4242424242424242"},
                                     headers=payments.headers(new_id(), "freelancer"))
        assert response.status_code == 403
        assert payments.client.post("/payments/deposits", json={"amount": 1000}).status_code in (401, 422)

    def test_the_card_number_is_never_kept_beyond_its_last_four_digits(self, payments):
        payments.deposit(new_id(), 1_000, card="4000000000000077")
        payments.deposit(new_id(), 1_000, card="4000000000000002")
        with payments.db.engine.connect() as connection:
            for table in ("deposits", "journal_entries", "postings", "outbox", "idempotency_keys"):
                for row in connection.execute(sa.text(f"SELECT * FROM {table}")):
                    assert "4000000000000077" not in str(tuple(row)) and "000000000000002" not in str(tuple(row))


class TestDepositIdempotency:
    def test_the_same_key_and_body_credit_once_and_replay_the_first_answer(self, payments):
        client = new_id()
        first = payments.deposit(client, 5_000, **{"Idempotency-Key": "dep-1"})
        again = payments.deposit(client, 5_000, **{"Idempotency-Key": "dep-1"})
        assert first.status_code == again.status_code == 201
        assert again.json == first.json
        assert payments.balance(client)["available"] == 5_000

    def test_the_same_key_with_another_body_is_422(self, payments):
        client = new_id()
        payments.deposit(client, 5_000, **{"Idempotency-Key": "dep-2"})
        assert payments.deposit(client, 6_000, **{"Idempotency-Key": "dep-2"}).status_code == 422

    def test_a_declined_deposit_replays_its_402(self, payments):
        client = new_id()
        first = payments.deposit(client, 5_000, card="4000000000000002", **{"Idempotency-Key": "dep-3"})
        again = payments.deposit(client, 5_000, card="4000000000000002", **{"Idempotency-Key": "dep-3"})
        assert first.status_code == again.status_code == 402
        with payments.db.transaction() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Deposit).where(Deposit.user_id == client)) == 1


class TestTransactions:
    def test_each_movement_on_the_callers_accounts_newest_first(self, payments):
        client = new_id()
        payments.deposit(client, 1_000)
        payments.deposit(client, 2_000)
        page = payments.transactions(client)
        assert [(item["kind"], item["amount"]) for item in page["items"]] == [("deposit", 2_000), ("deposit", 1_000)]
        assert page["items"][0]["account"] == f"user:{client}:available"
        assert page["next_cursor"] is None
        assert payments.transactions(new_id())["items"] == []

    def test_pages_follow_the_cursor(self, payments):
        client = new_id()
        for amount in (1_000, 2_000, 3_000):
            payments.deposit(client, amount)
        first = payments.transactions(client, limit=2)
        rest = payments.transactions(client, limit=2, cursor=first["next_cursor"])
        assert [item["amount"] for item in first["items"] + rest["items"]] == [3_000, 2_000, 1_000]
        assert rest["next_cursor"] is None
        with payments.db.transaction() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Posting)) == 6
