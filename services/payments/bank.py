"""Bank transfers behind an interface a real bank could implement; the sandbox takes a moment and may refuse."""
from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from services.payments.settings import PaymentsSettings

REFUSED_ACCOUNT = "000000000"


@dataclass(frozen=True)
class BankTransfer:
    paid: bool
    failure_reason: str | None = None
    reference: str | None = None


class Bank(Protocol):
    def send(self, amount: int, account_number: str, routing_number: str, *, idempotency_key: str) -> BankTransfer:
        """Send `amount` cents; the same `idempotency_key` is answered with the first outcome, never paid twice."""


class SandboxBank:
    """Pays after a short delay; refuses account number `000000000`."""

    def __init__(self, delay: tuple[float, float] = (0.2, 0.5)):
        self.delay = delay
        self._sent: dict[str, BankTransfer] = {}
        self._lock = threading.Lock()

    @property
    def transfers(self) -> dict[str, BankTransfer]:
        """Every transfer this bank made, by idempotency key."""
        with self._lock:
            return dict(self._sent)

    def send(self, amount: int, account_number: str, routing_number: str, *, idempotency_key: str) -> BankTransfer:
        with self._lock:
            if idempotency_key in self._sent:
                return self._sent[idempotency_key]
        if self.delay[1] > 0:
            time.sleep(random.uniform(*self.delay))
        if account_number == REFUSED_ACCOUNT:
            outcome = BankTransfer(False, "account_closed")
        else:
            outcome = BankTransfer(True, reference=f"sandbox_tr_{uuid.uuid4().hex[:24]}")
        with self._lock:
            return self._sent.setdefault(idempotency_key, outcome)


def sandbox_bank(settings: PaymentsSettings) -> Bank:
    """The bank payments declares by default (`Runtime(..., collaborators={"bank": ...})` replaces it)."""
    return SandboxBank()
