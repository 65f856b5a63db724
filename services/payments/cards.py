"""Card processing behind an interface a real processor could implement; the sandbox decides by card number."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Protocol

from services.payments.settings import PaymentsSettings

DECLINED = "4000000000000002"
INSUFFICIENT_FUNDS = "4000000000009995"


@dataclass(frozen=True)
class Charge:
    succeeded: bool
    failure_reason: str | None = None
    reference: str | None = None


class CardProcessor(Protocol):
    def charge(self, amount: int, card_number: str, *, idempotency_key: str) -> Charge:
        """Charge `amount` cents; the same `idempotency_key` never charges twice."""


class SandboxCards:
    """`4000000000000002` is declined, `4000000000009995` has no funds, every other valid number pays.

    Like a real processor it remembers idempotency keys: the same key is answered with its first
    outcome and never charges again."""

    def __init__(self):
        self._charges: dict[str, Charge] = {}
        self._lock = threading.Lock()

    @property
    def charges(self) -> dict[str, Charge]:
        """Every charge asked of this processor, by idempotency key."""
        with self._lock:
            return dict(self._charges)

    def charge(self, amount: int, card_number: str, *, idempotency_key: str) -> Charge:
        with self._lock:
            if idempotency_key in self._charges:
                return self._charges[idempotency_key]
        if card_number == DECLINED:
            outcome = Charge(False, "card_declined")
        elif card_number == INSUFFICIENT_FUNDS:
            outcome = Charge(False, "insufficient_funds")
        else:
            outcome = Charge(True, reference=f"sandbox_ch_{uuid.uuid4().hex[:24]}")
        with self._lock:
            return self._charges.setdefault(idempotency_key, outcome)


def normalize(card_number: str) -> str:
    return card_number.replace(" ", "").replace("-", "")


def luhn_valid(card_number: str) -> bool:
    # ASCII only: isdigit() and int() also take "٤٠٠٠…", which no processor must ever be sent.
    if not (card_number.isascii() and card_number.isdigit()) or not 12 <= len(card_number) <= 19:
        return False
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(card_number)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def sandbox_cards(settings: PaymentsSettings) -> CardProcessor:
    """The processor payments declares by default (`Runtime(..., collaborators={"cards": ...})` replaces it)."""
    return SandboxCards()
