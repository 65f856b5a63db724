"""What the hostile-input, fuzz and log tests share: every service built on one database kind, tokens."""
from __future__ import annotations

from argon2 import PasswordHasher

from marketplace import registry
from services.payments.bank import SandboxBank
from shared.ids import new_id

ROLES = (("client",), ("freelancer",), ("admin",), ("client", "freelancer"))


class RecordingCards:
    """A card processor that records every number it is sent and pays."""

    def __init__(self):
        from services.payments.cards import SandboxCards

        self.sent: list[str] = []
        self._sandbox = SandboxCards()

    def charge(self, amount, card_number, *, idempotency_key):
        self.sent.append(card_number)
        return self._sandbox.charge(amount, card_number, idempotency_key=idempotency_key)


def cheap_hashing(monkeypatch) -> None:
    from services.users import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not-a-real-password"))


def build_all(harness, settings, make_database, cards=None) -> dict:
    """Every service of the registry, each on a fresh database of `make_database`'s kind."""
    built = {}
    for name, service in registry.available({}).items():
        collaborators = {"bank": SandboxBank(delay=(0.0, 0.0)), "cards": cards or RecordingCards()} \
            if name == "payments" else None
        built[name] = harness(service, settings, make_database(name), collaborators=collaborators)
    return built


def headers(harness_, roles=("client",), user_id: str | None = None, **extra) -> dict:
    return harness_.headers(user_id or new_id(), roles, **extra)
