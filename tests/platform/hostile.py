"""What the hostile-input, fuzz and log tests share: every service built on one database kind, tokens."""
from __future__ import annotations

from datetime import timedelta

from marketplace import registry
from services.messages.settings import MessagesSettings
from services.payments.bank import SandboxBank
from services.users.settings import UsersSettings
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


def own_settings(name: str):
    """Cheap argon2 for users (registering and logging in cost microseconds); a notification stream that
    ends after a second, not when the token expires (each request to it would wait that long); the
    defaults elsewhere."""
    if name == "users":
        return UsersSettings(argon2_memory_kib=1024, argon2_time_cost=1, argon2_parallelism=1)
    if name == "messages":
        return MessagesSettings(sse_max_age=timedelta(seconds=1))
    return None


def build_all(harness, settings, make_database, cards=None) -> dict:
    """Every service of the registry, each on a fresh database of `make_database`'s kind."""
    built = {}
    for name, service in registry.available({}).items():
        collaborators = {"bank": SandboxBank(delay=(0.0, 0.0)), "cards": cards or RecordingCards()} \
            if name == "payments" else None
        built[name] = harness(service, settings, make_database(name), collaborators=collaborators,
                              service_settings=own_settings(name))
    return built


def headers(harness_, roles=("client",), user_id: str | None = None, **extra) -> dict:
    return harness_.headers(user_id or new_id(), roles, **extra)
