"""What contracts reacts to: the events and timers of its sagas, each saga's map beside its steps in sagas.py."""
from __future__ import annotations

from services.contracts.sagas import FUNDING, HIRING, REFUND, RELEASE, TIMERS

# An event two sagas share (payments.escrow.funded) has one handler in both maps.
HANDLERS = {**HIRING, **FUNDING, **RELEASE, **REFUND}

__all__ = ["HANDLERS", "TIMERS"]
