"""The allowed moves of a contract and of a milestone; anything else is a 409."""
from __future__ import annotations

from shared.states import StateMachine

CONTRACT = StateMachine("The contract", {
    "pending_funding": {"offered", "cancelling", "cancelled"},  # cancelled at once when the first funding fails
    "offered": {"active", "cancelling"},
    "active": {"completed", "cancelling", "paused"},
    "paused": {"active", "cancelling"},  # hourly only: the client's reasons or a failed charge
    "cancelling": {"cancelled"},
}, end=("cancelled", "completed"))

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
}, end=("released", "refunded", "cancelled"))

INVOICE = StateMachine("The invoice", {
    "pending_payment": {"in_review", "payment_failed"},
    "payment_failed": {"in_review"},
    "in_review": {"releasing", "disputed"},
    "releasing": {"released"},
    "disputed": {"resolving"},
    "resolving": {"resolved"},
}, end=("released", "resolved"))

CONTRACT_STATES = CONTRACT.states
INVOICE_STATES = INVOICE.states
MILESTONE_STATES = MILESTONE.states
# A contract that can still be cancelled is open; from `cancelling` on it has ended.
OPEN = tuple(state for state in CONTRACT.states if CONTRACT.can(state, "cancelling"))
ENDED = tuple(state for state in CONTRACT.states if state not in OPEN)
# Escrow that nobody can work on any more once the contract ends goes back to the client.
REFUNDABLE = tuple(state for state in MILESTONE.states
                   if MILESTONE.can(state, "refunding") and state not in MILESTONE.end)
# In-progress: the milestone waits for payments' answer, so the contract cannot settle yet.
IN_FLIGHT = ("funding", "approved", "refunding")
