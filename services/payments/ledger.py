"""The ledger: double-entry transfers in integer cents, one journal entry per saga step, each once."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from services.payments.models import Account, Escrow, InvoiceCharge, JournalEntry, Posting, insert_missing
from shared.db import utcnow
from shared.errors import Conflict
from shared.ids import new_id

PLATFORM_FEES = "platform:fees"
WORLD_CARDS = "world:cards"
WORLD_BANKS = "world:banks"


class InsufficientFunds(Conflict):
    """A transfer would take an account below zero; nothing was moved."""


def available(user_id: str) -> str:
    return f"user:{user_id}:available"


def pending(user_id: str) -> str:
    return f"user:{user_id}:pending"


def in_payout(user_id: str) -> str:
    return f"user:{user_id}:in_payout"


def escrow(milestone_id: str) -> str:
    return f"escrow:{milestone_id}"


def invoice_escrow(invoice_id: str) -> str:
    return f"escrow:invoice:{invoice_id}"


def owner_of(account: str) -> str | None:
    kind, _, rest = account.partition(":")
    return rest.partition(":")[0] if kind == "user" else None


def may_go_negative(account: str) -> bool:
    return account.startswith("world:")


def fee(amount: int, bps: int) -> int:
    """`amount × bps / 10000` rounded half up to the cent, in integers."""
    return (amount * bps + 5_000) // 10_000


@dataclass(frozen=True)
class Transfer:
    source: str
    target: str
    amount: int
    kind: str


def lock(uow, names) -> dict[str, Account]:
    """Create the accounts that are missing, then lock them all in name order (one order, no deadlocks)."""
    names = sorted(set(names))
    insert_missing(uow, Account, [{"name": name, "owner_id": owner_of(name), "balance": 0, "created_at": utcnow()}
                                  for name in names])
    query = sa.select(Account).where(Account.name.in_(names)).order_by(Account.name)
    rows = uow.session.scalars(uow.for_update(query).execution_options(populate_existing=True))
    return {row.name: row for row in rows}


def post(uow, key: str, kind: str, reference: str, transfers: list[Transfer]) -> bool:
    """Post one journal entry; False when an entry with this key exists (nothing moves twice).

    Raises InsufficientFunds, before anything changed, when an account other than the
    outside world's would end below zero.
    """
    transfers = [transfer for transfer in transfers if transfer.amount]
    if any(transfer.amount < 0 for transfer in transfers):
        raise ValueError("a transfer moves a positive amount")
    accounts = lock(uow, [name for transfer in transfers for name in (transfer.source, transfer.target)])
    if uow.session.scalar(sa.select(JournalEntry.id).where(JournalEntry.key == key)) is not None:
        return False
    after = {name: account.balance for name, account in accounts.items()}
    for transfer in transfers:
        after[transfer.source] -= transfer.amount
        after[transfer.target] += transfer.amount
    short = sorted(name for name, balance in after.items() if balance < 0 and not may_go_negative(name))
    if short:
        raise InsufficientFunds(f"Not enough money in {', '.join(short)}.")
    now, entry_id = utcnow(), new_id()
    uow.session.add(JournalEntry(id=entry_id, key=key, kind=kind, reference=reference, created_at=now))
    uow.session.flush()
    for number, transfer in enumerate(transfers):
        for account, amount in ((transfer.source, -transfer.amount), (transfer.target, transfer.amount)):
            uow.session.add(Posting(id=new_id(), entry_id=entry_id, transfer=number, account=account,
                                    owner_id=owner_of(account), amount=amount, kind=transfer.kind,
                                    reference=reference, created_at=now))
    for name, balance in after.items():
        accounts[name].balance = balance
    return True


def balance_of(session, user_id: str) -> dict:
    """A user's money by account, and what is held in escrow for their milestones and invoices as a client."""
    accounts = dict(session.execute(sa.select(Account.name, Account.balance).where(Account.owner_id == user_id)).all())
    in_escrow = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Escrow.amount), 0))
                               .where(Escrow.client_id == user_id, Escrow.status == "held"))
    in_escrow += session.scalar(sa.select(sa.func.coalesce(sa.func.sum(InvoiceCharge.amount), 0))
                                .where(InvoiceCharge.client_id == user_id, InvoiceCharge.status == "held"))
    return {"user_id": user_id, "available": accounts.get(available(user_id), 0),
            "pending": accounts.get(pending(user_id), 0), "in_escrow": in_escrow,
            "in_payout": accounts.get(in_payout(user_id), 0)}


def check_database(db) -> dict:
    """`check` over one consistent snapshot of the books, while money keeps moving."""
    with db.reading() as session:
        return check(session)


def check(session) -> dict:
    """Verify the books: they sum to zero, entries balance, balances match postings, escrows hold 0 or their amount."""
    accounts = dict(session.execute(sa.select(Account.name, Account.balance)).all())
    posted = dict(session.execute(sa.select(Posting.account, sa.func.sum(Posting.amount))
                                  .group_by(Posting.account)).all())
    unbalanced = list(session.scalars(sa.select(Posting.entry_id).group_by(Posting.entry_id)
                                      .having(sa.func.sum(Posting.amount) != 0)))
    mismatched = sorted(name for name in set(accounts) | set(posted)
                        if accounts.get(name, 0) != (posted.get(name) or 0))
    negative = sorted(name for name, balance in accounts.items() if balance < 0 and not may_go_negative(name))
    escrows = []
    for milestone_id, amount, status in session.execute(sa.select(Escrow.milestone_id, Escrow.amount, Escrow.status)):
        held = accounts.get(escrow(milestone_id), 0)
        if held != (amount if status == "held" else 0):
            escrows.append(milestone_id)
    for invoice_id, amount, status in session.execute(
            sa.select(InvoiceCharge.invoice_id, InvoiceCharge.amount, InvoiceCharge.status)):
        if accounts.get(invoice_escrow(invoice_id), 0) != (amount if status == "held" else 0):
            escrows.append(invoice_id)
    total = sum(accounts.values())
    return {"balanced": total == 0 and not unbalanced and not mismatched and not escrows,
            "accounts": len(accounts), "total": total, "negative_accounts": negative,
            "mismatched_accounts": mismatched, "unbalanced_entries": unbalanced, "escrow_mismatches": sorted(escrows),
            "platform_fees": accounts.get(PLATFORM_FEES, 0)}


def check_failures(runtime) -> dict[tuple[str, ...], float]:
    """The `ledger_check_failures` gauge: what `check` found wrong, by check (0 each when the books hold):
    `total` 1 when they do not sum to zero, and how many `entries` do not balance, `accounts` differ
    from their postings, `escrows` do not hold 0 or their amount, user accounts are `negative`."""
    report = check_database(runtime.db)
    return {("total",): float(report["total"] != 0), ("entries",): float(len(report["unbalanced_entries"])),
            ("accounts",): float(len(report["mismatched_accounts"])),
            ("escrows",): float(len(report["escrow_mismatches"])),
            ("negative",): float(len(report["negative_accounts"]))}
