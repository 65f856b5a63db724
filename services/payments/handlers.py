"""What payments reacts to: contracts' escrow, split and bonus requests, its own payout requests, payout holds ending, and
reinstated payees (their held payouts leave)."""
from __future__ import annotations

from services.payments import bonuses, escrow, invoices, payouts, splits
from shared.consumer import outside_transaction


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


def split_escrow(event, uow):
    """Empty a claimed milestone's escrow in one step: part to the freelancer, the rest back to the client."""
    data = event.data
    splits.split(uow, milestone_id=data["milestone_id"], freelancer_amount=data["freelancer_amount"],
                 refund_amount=data["refund_amount"], freelancer_fee_bps=data["freelancer_fee_bps"],
                 client_fee_bps=data["client_fee_bps"])


def pay_bonus(event, uow):
    """Pay a bonus from the client's available money to the freelancer, inside the payout hold."""
    data = event.data
    bonuses.pay(uow, bonus_id=data["bonus_id"], contract_id=data["contract_id"], client_id=data["client_id"],
                freelancer_id=data["freelancer_id"], amount=data["amount"], client_fee_bps=data["client_fee_bps"],
                freelancer_fee_bps=data["freelancer_fee_bps"])


def charge_invoice(event, uow):
    """Charge a closed timesheet's invoice to the client's available money, or keep it unpaid and say so."""
    data = event.data
    invoices.request_charge(uow, contract_id=data["contract_id"], invoice_id=data["invoice_id"],
                            client_id=data["client_id"], freelancer_id=data["freelancer_id"],
                            period_start=data["period_start"], amount=data["amount"],
                            client_fee_bps=data["client_fee_bps"])


def release_invoice(event, uow):
    """Pay a reviewed invoice to the freelancer, inside the payout hold."""
    invoices.release(uow, invoice_id=event.data["invoice_id"], freelancer_fee_bps=event.data["freelancer_fee_bps"])


def split_invoice(event, uow):
    """Share a disputed invoice's money as the admin decided, in one journal entry."""
    data = event.data
    invoices.split(uow, invoice_id=data["invoice_id"], freelancer_amount=data["freelancer_amount"],
                   client_fee_bps=data["client_fee_bps"], freelancer_fee_bps=data["freelancer_fee_bps"])


def collect_unpaid_invoices(event, uow):
    """A client's deposit arrived: their unpaid invoices are charged again, oldest first."""
    invoices.collect(uow, event.data["user_id"])


def retry_charges(timer, uow):
    """CHARGE_RETRY_AFTER after a failure: the client's unpaid invoices are charged again, oldest first."""
    invoices.collect(uow, timer.payload["client_id"])


def end_invoice_hold(timer, uow):
    """An invoice's payout hold is over: the freelancer's share becomes available."""
    invoices.end_hold(uow, timer.key)


def ask_the_bank(event, runtime):
    """Before the handler's transaction: the bank's answer for a pending payout (None: nothing to send)."""
    with runtime.db.reading() as session:
        order = payouts.to_send(session, event.data["payout_id"])
    return payouts.call_bank(runtime.collaborators["bank"], order) if order else None


@outside_transaction(ask_the_bank)
def send_payout(event, uow):
    """Send a requested payout to the bank (before this transaction, holding no lock) and settle it."""
    payouts.settle(uow, event.data["payout_id"], event.prepared)


def send_held_payouts(event, uow):
    """A reinstated payee's payouts, held while they were suspended, are requested again."""
    payouts.send_held(uow, event.data["user_id"])


def end_hold(timer, uow):
    """A release's payout hold is over: the money becomes available."""
    escrow.end_hold(uow, timer.key)


def end_bonus_hold(timer, uow):
    """A bonus's payout hold is over: the money becomes available."""
    bonuses.end_hold(uow, timer.key)


HANDLERS = {
    "contracts.milestone.funding_requested": hold_escrow,
    "contracts.milestone.approved": release_escrow,
    "contracts.milestone.refund_requested": refund_escrow,
    "contracts.milestone.split_requested": split_escrow,
    "contracts.bonus.requested": pay_bonus,
    "payments.payout.requested": send_payout,
    "users.user.reinstated": send_held_payouts,
    "contracts.invoice.charge_requested": charge_invoice,
    "contracts.invoice.approved": release_invoice,
    "contracts.invoice.split_requested": split_invoice,
    "payments.deposit.succeeded": collect_unpaid_invoices,
}

TIMERS = {
    escrow.HOLD_END: end_hold,
    bonuses.HOLD_END: end_bonus_hold,
    invoices.RETRY_CHARGE: retry_charges,
    invoices.HOLD_END: end_invoice_hold,
}
