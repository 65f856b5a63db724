"""The allowed moves of a contract, a milestone, a refund request and a dispute; anything else is a 409."""
from __future__ import annotations

from shared.states import StateMachine

CONTRACT = StateMachine("The contract", {
    "pending_funding": {"offered", "cancelling", "cancelled"},  # cancelled at once when the first funding fails
    "offered": {"active", "cancelling"},
    "active": {"completed", "cancelling", "paused"},
    "paused": {"active", "cancelling"},  # hourly only: the client's reasons or a failed charge
    "cancelling": {"cancelled"},
}, end=("cancelled", "completed"))

# Work handed in or sent back: a claim on it is a refund request, also when the contract ends.
WORKED = ("submitted", "changes_requested")
# A milestone whose escrow a refund request or a dispute claims: nothing else moves it meanwhile.
CLAIMED = ("refund_requested", "disputed")

MILESTONE = StateMachine("The milestone", {
    "pending": {"funding", "cancelled"},
    "funding": {"funded", "pending", "cancelled"},
    "funded": {"submitted", "refunding", "refund_requested"},
    "submitted": {"changes_requested", "approved", "refunding", "refund_requested"},
    "changes_requested": {"submitted", "refunding", "refund_requested"},
    # A claim ends with money (a split) or gives the milestone back in the state it came from.
    "refund_requested": {"splitting", "disputed", "funded", *WORKED},
    "disputed": {"splitting", "funded", *WORKED},
    # An approval with a discount is answered like a split, by whatever the escrow did.
    "approved": {"released", "split", "refunded"},
    "splitting": {"split", "released", "refunded"},
    "refunding": {"refunded"},
    # Safety: money that reaches escrow for a milestone that already ended goes straight back.
    "cancelled": {"refunding"},
}, end=("released", "split", "refunded", "cancelled"))

REFUND_REQUEST = StateMachine("The refund request", {
    "pending": {"accepted", "disputed", "withdrawn"},
}, end=("accepted", "disputed", "withdrawn"))

DISPUTE = StateMachine("The dispute", {
    "open": {"mediation", "resolved"},
    "mediation": {"arbitration", "resolved"},
    "arbitration": {"resolved"},
}, end=("resolved",))

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
# Escrow nobody worked on goes back to the client when the contract ends (worked-on escrow is claimed).
REFUNDABLE = tuple(state for state in MILESTONE.states
                   if MILESTONE.can(state, "refunding") and state not in MILESTONE.end and state not in WORKED)
# In-progress: the milestone waits for payments' answer, so the contract cannot settle yet.
IN_FLIGHT = ("funding", "approved", "refunding", "splitting")
# What holds a cancelling contract open: an answer from payments, or a claim still being decided.
HOLDING = (*IN_FLIGHT, *CLAIMED)
# Settled for good: the milestone's money has all moved.
SETTLED = ("released", "split", "refunded")
