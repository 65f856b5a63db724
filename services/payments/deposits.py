"""Deposits: money from a card into the client's available balance."""
from __future__ import annotations

from services.payments import ledger
from services.payments.cards import CardProcessor, Charge
from services.payments.ledger import Transfer
from services.payments.models import Deposit
from shared.db import utcnow
from shared.errors import NotFound


def charge(processor: CardProcessor, *, deposit_id: str, amount: int, card_number: str) -> Charge:
    """Charge the card outside any transaction; the deposit id is the processor's idempotency key.

    Retries: the id is derived from the request's Idempotency-Key (see `@idempotent(outside=...)`), so
    a deposit retried after a 5xx asks for the same charge and the processor answers with the first."""
    return processor.charge(amount, card_number, idempotency_key=deposit_id)


def record(uow, *, deposit_id: str, user_id: str, amount: int, card_number: str, outcome: Charge) -> Deposit:
    """Keep the deposit (a failed one too) and credit a successful one; only the last 4 digits are kept.
    A deposit already kept under this id (its key reused after its answer expired) is kept once."""
    kept = uow.session.get(Deposit, deposit_id)
    if kept is not None and kept.user_id == user_id:
        return kept
    deposit = Deposit(id=deposit_id, user_id=user_id, amount=amount, card_last4=card_number[-4:],
                      status="succeeded" if outcome.succeeded else "failed", failure_reason=outcome.failure_reason,
                      processor_reference=outcome.reference, created_at=utcnow())
    uow.session.add(deposit)
    if outcome.succeeded:
        ledger.post(uow, f"deposit:{deposit_id}", "deposit", deposit_id, [
            Transfer(ledger.WORLD_CARDS, ledger.available(user_id), amount, "deposit"),
        ])
        # The client's unpaid hourly invoices are charged again on it (invoices.collect).
        uow.emit("payments.deposit.succeeded", {"deposit_id": deposit_id, "user_id": user_id, "amount": amount},
                 correlation_id=deposit_id)
    return deposit


def owned(session, deposit_id: str, user_id: str) -> Deposit:
    deposit = session.get(Deposit, deposit_id)
    if deposit is None or deposit.user_id != user_id:
        raise NotFound("No such deposit.")
    return deposit
