"""Sagas past their deadline: what `marketplace sagas stuck` lists and the `sagas_stuck` gauge counts.

A step is stuck once its first deadline (SAGA_RESEND_AFTER after it began) has passed with no
answer: its request is being sent again with backoff, and an operator should look at why payments
does not answer (its worker down, the request or the answer parked in dead letters). The steps are
a milestone's (funding, approved, refunding, splitting), a fixed-price contract's cancelling, and an
hourly invoice's (pending_payment: the charge, releasing: the release once the review window is
over, resolving: an admin's split).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.contracts import billing
from services.contracts.hourly_models import Invoice
from services.contracts.models import Contract, Milestone
from services.contracts.sagas import REQUESTS, deadline
from services.contracts.states import CLAIMED, IN_FLIGHT
from shared.db import utcnow
from shared.service import StuckSaga

INVOICE_WAITING = tuple(billing.REQUESTS)  # pending_payment, releasing, resolving
STATES = (*IN_FLIGHT, "cancelling", *INVOICE_WAITING)
# A cancelling contract that waits for a claim (a refund request or a dispute) waits on the claim's own
# deadline, days long by design: it is not stuck.
UNCLAIMED = ~sa.exists().where(Milestone.contract_id == Contract.id, Milestone.status.in_(CLAIMED))
# An hourly contract that is cancelling waits for its last periods' invoices (days, by design), not for
# an answer from payments: it is not stuck (each of those invoices is, past its own deadline).
FIXED_PRICE = Contract.type != "hourly"
# An invoice in `payment_failed` waits for the client's money, which payments retries by itself; one
# `in_review` or `disputed` waits for the client or an admin: none of them waits for an answer.
INVOICE_SINCE = sa.func.coalesce(Invoice.requested_at, Invoice.created_at)
MILESTONE_SINCE = sa.func.coalesce(Milestone.requested_at, Milestone.created_at)
CANCELLING_SINCE = sa.func.coalesce(Contract.cancelling_at, Contract.created_at)


def milestones_past(cutoff: datetime) -> tuple:
    return Milestone.status.in_(IN_FLIGHT), MILESTONE_SINCE <= cutoff


def cancelling_past(cutoff: datetime) -> tuple:
    return Contract.status == "cancelling", UNCLAIMED, FIXED_PRICE, CANCELLING_SINCE <= cutoff


def invoices_past(cutoff: datetime) -> tuple:
    return Invoice.status.in_(INVOICE_WAITING), INVOICE_SINCE <= cutoff


def stuck_sagas(session, settings, now: datetime | None = None) -> list[StuckSaga]:
    """Every in-flight milestone, cancelling contract and waiting invoice past its first deadline, oldest first."""
    cutoff = (now or utcnow()) - settings.saga_resend_after
    found: list[StuckSaga] = []
    milestones = session.execute(
        sa.select(Milestone, Contract.status).join(Contract, Milestone.contract_id == Contract.id)
        .where(*milestones_past(cutoff)).order_by(MILESTONE_SINCE, Milestone.id)).all()
    for milestone, contract_status in milestones:
        found.append(_waiting_for_payments("milestone", milestone, settings, why=(
            f"no answer from payments to {REQUESTS[milestone.status]} (contract {milestone.contract_id}, "
            f"{contract_status})")))
    contracts = session.execute(
        sa.select(Contract).where(*cancelling_past(cutoff)).order_by(CANCELLING_SINCE, Contract.id)).scalars().all()
    for contract in contracts:
        since = contract.cancelling_at or contract.created_at
        waiting = [f"{m.id} {m.status}" for m in contract.milestones if m.status in IN_FLIGHT]
        found.append(StuckSaga(
            kind="contract", id=contract.id, state="cancelling", since=since, attempts=contract.resends or 0,
            next_attempt_at=deadline(settings, since, contract.resends or 0),
            why=(f"waiting for milestone {', '.join(waiting)}" if waiting else "nothing in flight; settles next check"),
            last_error=None))
    invoices = session.execute(
        sa.select(Invoice, Contract.status).join(Contract, Invoice.contract_id == Contract.id)
        .where(*invoices_past(cutoff)).order_by(INVOICE_SINCE, Invoice.id)).all()
    for invoice, contract_status in invoices:
        found.append(_waiting_for_payments("invoice", invoice, settings, why=(
            f"no answer from payments to {billing.REQUESTS[invoice.status]} (contract {invoice.contract_id}, "
            f"{contract_status}, period {invoice.period_start:%Y-%m-%d %H:%M:%SZ})")))
    found.sort(key=lambda saga: (saga.since, saga.id))
    return found


def _waiting_for_payments(kind: str, row, settings, *, why: str) -> StuckSaga:
    """A milestone or an invoice whose request to payments is being sent again (both keep the same columns)."""
    since = row.requested_at or row.created_at
    return StuckSaga(kind=kind, id=row.id, state=row.status, since=since, attempts=row.resends or 0,
                     next_attempt_at=deadline(settings, since, row.resends or 0), why=why, last_error=row.last_error)


def count_stuck(runtime) -> dict[tuple[str, ...], float]:
    """The `sagas_stuck` gauge's values, one per in-flight state (zero included, so a cleared state drops)."""
    counts: dict[tuple[str, ...], float] = {(state,): 0.0 for state in STATES}
    cutoff = utcnow() - runtime.service_settings.saga_resend_after
    with runtime.db.transaction() as session:
        milestones = session.execute(sa.select(Milestone.status, sa.func.count())
                                     .where(*milestones_past(cutoff)).group_by(Milestone.status)).all()
        cancelling = session.scalar(sa.select(sa.func.count()).select_from(Contract).where(*cancelling_past(cutoff)))
        invoices = session.execute(sa.select(Invoice.status, sa.func.count())
                                   .where(*invoices_past(cutoff)).group_by(Invoice.status)).all()
    for status, count in [*milestones, *invoices]:
        counts[(status,)] = float(count)
    counts[("cancelling",)] = float(cancelling or 0)
    return counts
