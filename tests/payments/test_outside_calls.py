"""Calls that leave the marketplace (the card processor, the bank) hold no lock, and a retry never
makes them twice: a deposit retried after a 5xx is one charge, a payout sent again is one transfer."""
from __future__ import annotations

import json

import sqlalchemy as sa

from services.payments import deposits, ledger
from services.payments.cards import SandboxCards
from services.payments.models import Deposit
from shared.events import Envelope
from tests.support import new_id, write_lock_is_free



class TestADepositRetriedAfterA5xx:
    def test_is_charged_once_and_credited_once(self, make_any_payments, monkeypatch):
        payments = make_any_payments()
        cards: SandboxCards = payments.harness.runtime.collaborators["cards"]
        client, real = new_id(), deposits.record

        def dies_once(*args, **kwargs):
            monkeypatch.setattr(deposits, "record", real)
            raise RuntimeError("the database went away after the card was charged")

        monkeypatch.setattr(deposits, "record", dies_once)
        failed = payments.deposit(client, 5_000, **{"Idempotency-Key": "after-5xx"})
        assert failed.status_code == 500
        assert len(cards.charges) == 1
        assert payments.balance(client)["available"] == 0

        retried = payments.deposit(client, 5_000, **{"Idempotency-Key": "after-5xx"})
        assert retried.status_code == 201, retried.json
        assert len(cards.charges) == 1
        assert payments.balance(client)["available"] == 5_000
        with payments.db.reading() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Deposit)) == 1
        replayed = payments.deposit(client, 5_000, **{"Idempotency-Key": "after-5xx"})
        assert replayed.json["id"] == retried.json["id"] and len(cards.charges) == 1

    def test_deposits_without_a_key_or_with_another_are_charges_of_their_own(self, payments):
        cards: SandboxCards = payments.harness.runtime.collaborators["cards"]
        client = new_id()
        payments.deposit(client, 5_000)
        payments.deposit(client, 5_000)
        payments.deposit(client, 5_000, **{"Idempotency-Key": "one"})
        payments.deposit(client, 5_000, **{"Idempotency-Key": "two"})
        assert len(cards.charges) == 4
        assert payments.balance(client)["available"] == 20_000

    def test_the_same_key_of_another_client_is_another_charge(self, payments):
        cards: SandboxCards = payments.harness.runtime.collaborators["cards"]
        payments.deposit(new_id(), 5_000, **{"Idempotency-Key": "shared"})
        payments.deposit(new_id(), 5_000, **{"Idempotency-Key": "shared"})
        assert len(cards.charges) == 2

    def test_a_replayed_key_does_not_ask_the_processor_again(self, payments, monkeypatch):
        cards: SandboxCards = payments.harness.runtime.collaborators["cards"]
        client, asked = new_id(), []
        real = cards.charge
        monkeypatch.setattr(cards, "charge", lambda *a, **k: asked.append(k) or real(*a, **k))
        payments.deposit(client, 5_000, **{"Idempotency-Key": "kept"})
        payments.deposit(client, 5_000, **{"Idempotency-Key": "kept"})
        assert payments.deposit(client, 6_000, **{"Idempotency-Key": "kept"}).status_code == 422
        assert len(asked) == 1


class TestOutsideCallsHoldNoLock:
    def test_the_card_is_charged_while_no_write_transaction_is_open(self, payments, monkeypatch):
        cards: SandboxCards = payments.harness.runtime.collaborators["cards"]
        seen, real = [], cards.charge
        monkeypatch.setattr(cards, "charge", lambda *a, **k: seen.append(write_lock_is_free(payments.db)) or real(*a, **k))
        assert payments.deposit(new_id(), 5_000, **{"Idempotency-Key": "free"}).status_code == 201
        assert payments.deposit(new_id(), 5_000).status_code == 201
        assert seen == [True, True]

    def test_the_bank_is_called_while_no_write_transaction_is_open(self, payments, monkeypatch):
        bank = payments.harness.runtime.collaborators["bank"]
        seen, real = [], bank.send
        monkeypatch.setattr(bank, "send", lambda *a, **k: seen.append(write_lock_is_free(payments.db)) or real(*a, **k))
        freelancer = payments.earn()
        payout = payments.payout(freelancer, 4_000).json
        (event,) = payments.emitted("payments.payout.requested")
        assert payments.deliver(Envelope.from_json(json.dumps(event))).settled
        assert payments.get_payout(freelancer, payout["id"]).json["status"] == "paid"
        assert seen == [True]
        assert payments.account(ledger.WORLD_BANKS) == 4_000

    def test_a_payout_settled_already_is_not_sent_to_the_bank_again(self, payments, monkeypatch):
        bank = payments.harness.runtime.collaborators["bank"]
        freelancer = payments.earn()
        payments.payout(freelancer, 4_000)
        (event,) = payments.emitted("payments.payout.requested")
        payments.deliver(Envelope.from_json(json.dumps(event)))
        asked, real = [], bank.send
        monkeypatch.setattr(bank, "send", lambda *a, **k: asked.append(k) or real(*a, **k))
        copy = Envelope(event["type"], event["data"], event["producer"], event["correlation_id"],
                        event.get("causation_id"), id=new_id())
        assert payments.deliver(copy).settled
        assert asked == [] and len(bank.transfers) == 1
