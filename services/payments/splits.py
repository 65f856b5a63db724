"""Splits: a claim ends, and one journal entry empties a milestone's escrow at once, part to the freelancer
(inside the payout hold, less the freelancer fee) and the rest, with the client fee of that rest, back to
the client.

R is the released part, F = fee(R, freelancer bps), K = fee(R, client bps), C the client fee taken at
funding. The platform keeps exactly F + K, the fees of a milestone of amount R; the client gets C − K
back, never rounded apart, so what the platform kept and returned is C.

What a split request meets (a repeated or late one gets the same answer):

| escrow   | split_requested                                                               |
|----------|-------------------------------------------------------------------------------|
| none     | retried (NotReady): payments funds before contracts can claim, so never paid  |
| held     | split: `split` (`released` if R is all, `refunded` if R is 0)                 |
| settled  | what it did: `released`, `refunded` or `split`                                |
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from services.payments import escrow as escrows
from services.payments import ledger
from services.payments.escrow import HOLD_END
from services.payments.ledger import Transfer
from services.payments.models import Escrow
from shared.db import utcnow
from shared.errors import NotReady

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shares:
    """Where each cent of an escrow of `amount` (and its client fee) goes when `released` of it is paid."""

    released: int  # R, gross
    freelancer_fee: int  # F
    refunded: int  # amount − R
    client_fee_kept: int  # K
    client_fee_refund: int  # C − K

    @property
    def freelancer(self) -> int:
        return self.released - self.freelancer_fee

    @property
    def client(self) -> int:
        return self.refunded + self.client_fee_refund

    @property
    def platform(self) -> int:
        return self.freelancer_fee + self.client_fee_kept


def shares(*, amount: int, client_fee: int, released: int, freelancer_fee_bps: int, client_fee_bps: int) -> Shares:
    """The split's rule: fees are SAGAS.md's half up on the released part; the client fee kept is never
    more than was taken at funding (a fee rate that changed meanwhile cannot take more)."""
    if not 0 <= released <= amount:
        raise ValueError(f"a split releases 0..{amount}, not {released}")
    kept = min(client_fee, ledger.fee(released, client_fee_bps))
    return Shares(released=released, freelancer_fee=ledger.fee(released, freelancer_fee_bps),
                  refunded=amount - released, client_fee_kept=kept, client_fee_refund=client_fee - kept)


def target_of(split: Shares) -> str:
    if split.refunded == 0:
        return "released"
    return "refunded" if split.released == 0 else "split"


def split(uow, *, milestone_id: str, freelancer_amount: int, refund_amount: int, freelancer_fee_bps: int,
          client_fee_bps: int) -> None:
    """Empty a held escrow in one journal entry as the split says, and answer with what the money did."""
    escrow = uow.session.get(Escrow, milestone_id)
    if escrow is None:
        # Ordering: payments funds before contracts can claim, so this is early or wrong; never pay it.
        raise NotReady(f"milestone {milestone_id} was split but its escrow is unknown here")
    if escrow.status == "held" and freelancer_amount + refund_amount != escrow.amount:
        # The escrow's amount wins: the client gets what was asked back (at most all), the rest is released.
        log.warning("split of milestone %s does not sum to its escrow; the escrow's amount wins", milestone_id)
    released = escrow.amount - min(refund_amount, escrow.amount)
    part = shares(amount=escrow.amount, client_fee=escrow.client_fee, released=released,
                  freelancer_fee_bps=freelancer_fee_bps, client_fee_bps=client_fee_bps)
    available_at = utcnow() + uow.settings.payout_hold if part.released else None
    if escrows.settle(uow, escrow, target_of(part), freelancer_fee=part.freelancer_fee,
                      freelancer_amount=part.released, refund_amount=part.refunded,
                      client_fee_refund=part.client_fee_refund, available_at=available_at):
        account = ledger.escrow(milestone_id)
        ledger.post(uow, f"escrow-split:{milestone_id}", "escrow_split", milestone_id, [
            Transfer(account, ledger.pending(escrow.freelancer_id), part.freelancer, "escrow_release"),
            Transfer(account, ledger.PLATFORM_FEES, part.freelancer_fee, "freelancer_fee"),
            Transfer(account, ledger.available(escrow.client_id), part.refunded, "escrow_refund"),
            Transfer(ledger.PLATFORM_FEES, ledger.available(escrow.client_id), part.client_fee_refund,
                     "client_fee_refund"),
        ])
        if part.released:
            uow.schedule(HOLD_END, milestone_id, available_at, {"correlation_id": escrow.contract_id}, new=True)
    escrows.answer(uow, escrow, to="split")
