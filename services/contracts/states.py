"""The allowed moves of a contract and of a milestone; anything else is a 409."""
from __future__ import annotations

from shared.states import StateMachine

CONTRACT = StateMachine("The contract", {
    "pending_funding": {"offered", "cancelling", "cancelled"},  # cancelled at once when the first funding fails
    "offered": {"active", "cancelling"},
    "active": {"completed", "cancelling"},
    "cancelling": {"cancelled"},
})

MILESTONE = StateMachine("The milestone", {
    "pending": {"funding", "cancelled"},
    "funding": {"funded", "pending", "cancelled"},
    "funded": {"submitted", "refunding"},
    "submitted": {"changes_requested", "approved", "refunding"},
    "changes_requested": {"submitted", "refunding"},
    "approved": {"released"},
    "refunding": {"refunded"},
    # Safety: money that reaches escrow for a milestone that already ended goes straight back.
    "cancelled": {"refunding"},
})

CONTRACT_STATES = ("pending_funding", "offered", "active", "cancelling", "cancelled", "completed")
MILESTONE_STATES = ("pending", "funding", "funded", "submitted", "changes_requested", "approved", "released",
                    "refunding", "refunded", "cancelled")
ENDED = ("cancelling", "cancelled", "completed")
REFUNDABLE = ("funded", "submitted", "changes_requested")
IN_FLIGHT = ("funding", "approved", "refunding")
