"""What payments reacts to: contracts' escrow requests, its own payout requests, payout holds ending, and
reinstated payees (their held payouts leave)."""
from __future__ import annotations

from services.payments import escrow, payouts


def hold_escrow(event, uow):
    """Fund a milestone's escrow from the client's available money, or say why not."""
    data = event.data
    escrow.fund(uow, contract_id=data["contract_id"], milestone_id=data["milestone_id"], client_id=data["client_id"],
                freelancer_id=data["freelancer_id"], amount=data["amount"], client_fee_bps=data["client_fee_bps"])


def release_escrow(event, uow):
    """Pay an approved milestone to the freelancer, inside the payout hold."""
    data = event.data
    escrow.release(uow, milestone_id=data["milestone_id"], freelancer_fee_bps=data["freelancer_fee_bps"],
                   freelancer_id=data["freelancer_id"], amount=data["amount"])


def refund_escrow(event, uow):
    """Give a milestone's escrow and its client fee back to the client."""
    data = event.data
    escrow.refund(uow, contract_id=data["contract_id"], milestone_id=data["milestone_id"], client_id=data["client_id"])


def send_payout(event, uow):
    """Send a requested payout to the bank and settle it."""
    payouts.send(uow, event.data["payout_id"], uow.runtime.collaborators["bank"])


def send_held_payouts(event, uow):
    """A reinstated payee's payouts, held while they were suspended, go to the bank."""
    payouts.send_held(uow, event.data["user_id"], uow.runtime.collaborators["bank"])


def end_hold(timer, uow):
    """A release's payout hold is over: the money becomes available."""
    escrow.end_hold(uow, timer.key)


HANDLERS = {
    "contracts.milestone.funding_requested": hold_escrow,
    "contracts.milestone.approved": release_escrow,
    "contracts.milestone.refund_requested": refund_escrow,
    "payments.payout.requested": send_payout,
    "users.user.reinstated": send_held_payouts,
}

TIMERS = {
    escrow.HOLD_END: end_hold,
}
