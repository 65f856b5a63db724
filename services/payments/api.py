"""The payments HTTP API: deposits, balances, the caller's transactions, payouts, escrows, the ledger check."""
from __future__ import annotations

import sqlalchemy as sa
from flask_smorest import Blueprint

from services.payments import deposits, escrow, ledger, payouts
from services.payments.cards import Charge
from services.payments.models import Posting
from services.payments.schemas import (BalanceOut, DepositIn, DepositOut, EscrowOut, LedgerCheckOut, PayoutIn,
                                       PayoutOut, TransactionPage)
from shared.errors import PaymentRequired
from shared.http import current_user, idempotent, paginate, require, runtime_of, unit_of_work
from shared.http.problems import from_domain_error
from shared.http.schemas import PageArgs

payments = Blueprint("payments", __name__, url_prefix="/payments", description="Money: deposits, escrow, payouts")


def _charge_card(deposit_id: str, body: dict) -> tuple[str, Charge]:
    """Before the deposit's transaction: the card charge, keyed by the deposit's id (from its Idempotency-Key)."""
    return deposit_id, deposits.charge(runtime_of().collaborators["cards"], deposit_id=deposit_id, **body)


@payments.post("/deposits")
@require("client")
@payments.arguments(DepositIn)
@idempotent(outside=_charge_card)
@payments.response(201, DepositOut)
@payments.alt_response(402, description="The card was declined; the failed deposit is kept, nothing is credited.")
def deposit(body, uow, prepared):
    """Add money from a card to the caller's available balance."""
    user_id = current_user().id
    deposit_id, outcome = prepared
    made = deposits.record(uow, deposit_id=deposit_id, user_id=user_id, outcome=outcome, **body)
    if made.status == "failed":
        # Answered, not raised: a refusal would undo the work, and the failed deposit is kept.
        return from_domain_error(PaymentRequired(f"The card was not charged: {made.failure_reason}.",
                                                 deposit_id=made.id, failure_reason=made.failure_reason))
    return made, 201, {"Location": f"/payments/deposits/{made.id}"}


@payments.get("/deposits/<uuid:deposit_id>")
@require()
@payments.response(200, DepositOut)
def get_deposit(deposit_id):
    """One of the caller's deposits."""
    with unit_of_work(readonly=True) as uow:
        return deposits.owned(uow.session, str(deposit_id), current_user().id)


@payments.get("/balance")
@require()
@payments.response(200, BalanceOut)
def balance():
    """The caller's money: available, pending (inside its hold), in escrow and on its way to a bank."""
    with unit_of_work(readonly=True) as uow:
        return ledger.balance_of(uow.session, current_user().id)


@payments.get("/transactions")
@require()
@payments.arguments(PageArgs, location="query")
@payments.response(200, TransactionPage)
def transactions(args):
    """The caller's ledger movements, newest first: one per movement on one of the caller's accounts."""
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, sa.select(Posting).where(Posting.owner_id == current_user().id), Posting,
                        limit=args["limit"], cursor=args["cursor"])


@payments.post("/payouts")
@require("freelancer")
@payments.arguments(PayoutIn)
@idempotent
@payments.response(202, PayoutOut)
def request_payout(body, uow):
    """Send available money to a bank account; it is set aside at once and the payout settles later."""
    payout = payouts.request(uow, user_id=current_user().id, **body)
    return payout, 202, {"Location": f"/payments/payouts/{payout.id}"}


@payments.get("/payouts/<uuid:payout_id>")
@require()
@payments.response(200, PayoutOut)
def get_payout(payout_id):
    """One of the caller's payouts."""
    with unit_of_work(readonly=True) as uow:
        return payouts.owned(uow.session, str(payout_id), current_user().id)


@payments.get("/escrow/<uuid:contract_id>")
@require()
@payments.response(200, EscrowOut)
def contract_escrow(contract_id):
    """What is held, released and refunded for a contract's milestones; its parties only."""
    with unit_of_work(readonly=True) as uow:
        return escrow.of_contract(uow.session, str(contract_id), current_user().id)


@payments.get("/ledger/check")
@require("admin")
@payments.response(200, LedgerCheckOut)
def check_ledger():
    """Verify the whole ledger: it sums to zero, entries balance, no account below zero, escrows exact."""
    return ledger.check_database(runtime_of().db)
