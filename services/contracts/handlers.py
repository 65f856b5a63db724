"""What contracts reacts to: the events and timers of its sagas, each saga's map beside its steps."""
from __future__ import annotations

from services.contracts import billing, disputes, refunds
from services.contracts.bonuses import BONUS
from services.contracts.sagas import FUNDING, HIRING, REFUND, RELEASE
from services.contracts.sagas import TIMERS as SAGA_TIMERS

# An event two sagas share (payments.escrow.funded) has one handler in both maps.
HANDLERS = {**HIRING, **FUNDING, **RELEASE, **REFUND, **refunds.CLAIMS, **BONUS, **billing.BILLING}
TIMERS = {**SAGA_TIMERS, **refunds.TIMERS, **disputes.TIMERS, **billing.TIMERS}

__all__ = ["HANDLERS", "TIMERS"]
