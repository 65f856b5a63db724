"""The state machines of payments: a milestone's escrow and a payout."""
from shared.states import StateMachine

# Escrow moves are also conditional updates (`… WHERE status = 'held'`), so a release, a refund
# and a split racing for one milestone cannot both win, whatever contracts sends.
ESCROW = StateMachine("escrow", {
    "held": {"released", "refunded", "split"},
}, end=("released", "refunded", "split"))

PAYOUT = StateMachine("payout", {
    "pending": {"paid", "failed"},
}, end=("paid", "failed"))

ESCROW_STATES = ESCROW.states
PAYOUT_STATES = PAYOUT.states
