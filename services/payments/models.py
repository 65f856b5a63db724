"""The books: accounts, journal entries and their postings; escrows, deposits and payouts."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class Account(Base):
    """One account of the ledger; `balance` is the sum of its postings, kept under a row lock."""

    __tablename__ = "accounts"
    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(sa.String(36), index=True)
    balance: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Defence in depth: only the outside world may go below zero, whatever the code above does.
    __table_args__ = (sa.CheckConstraint("balance >= 0 OR name LIKE 'world:%'", name="ck_accounts_not_negative"),)


class JournalEntry(Base):
    """One saga step: its postings were written in one transaction; `key` makes it happen once."""

    __tablename__ = "journal_entries"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    reference: Mapped[str] = mapped_column(sa.String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Posting(Base):
    """One side of a transfer: a signed movement on one account (a transfer is a pair summing to zero)."""

    __tablename__ = "postings"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    entry_id: Mapped[str] = mapped_column(sa.ForeignKey("journal_entries.id"), index=True)
    transfer: Mapped[int] = mapped_column(sa.SmallInteger)
    account: Mapped[str] = mapped_column(sa.ForeignKey("accounts.name"), index=True)
    owner_id: Mapped[str | None] = mapped_column(sa.String(36))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(30))
    reference: Mapped[str] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="ck_postings_not_zero"),
        sa.Index("ix_postings_owner_created", "owner_id", "created_at", "id"),
    )


class ContractParties(Base):
    """Who may look at a contract's escrow, learnt from its first funding request."""

    __tablename__ = "contract_parties"
    contract_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    freelancer_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Escrow(Base):
    """A milestone's escrow: `held`, then `released`, `refunded` or `split`, each move a conditional update."""

    __tablename__ = "escrows"
    milestone_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    freelancer_id: Mapped[str | None] = mapped_column(sa.String(36))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    client_fee: Mapped[int] = mapped_column(sa.BigInteger)
    freelancer_fee: Mapped[int | None] = mapped_column(sa.BigInteger)
    # What the settling step did, 0 until settled (a release: all to the freelancer; a refund: all and the
    # client fee back; a split: each side's gross share, and the client fee less the fee of the released part).
    freelancer_amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    refund_amount: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    client_fee_refund: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[str] = mapped_column(sa.String(20))
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Deposit(Base):
    __tablename__ = "deposits"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20))
    failure_reason: Mapped[str | None] = mapped_column(sa.String(100))
    card_last4: Mapped[str] = mapped_column(sa.String(4))
    processor_reference: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Payout(Base):
    __tablename__ = "payouts"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(20))
    # The full account number is what the bank needs to pay; it is never logged, sent on the bus or returned.
    account_number: Mapped[str] = mapped_column(sa.String(34))
    routing_number: Mapped[str] = mapped_column(sa.String(9))
    failure_reason: Mapped[str | None] = mapped_column(sa.String(100))
    bank_reference: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def destination(self) -> dict:
        masked = "*" * max(0, len(self.account_number) - 4) + self.account_number[-4:]
        return {"type": "bank_account", "account_number": masked, "routing_number": self.routing_number}


def insert_missing(uow, model, rows: list[dict]) -> None:
    """Insert the rows whose primary key is not taken yet; a concurrent insert of the same key waits, then yields."""
    if rows:
        insert = sqlite.insert if uow.db.is_sqlite else postgresql.insert
        uow.session.execute(insert(model).values(rows).on_conflict_do_nothing())


class InvoiceCharge(Base):
    """An hourly invoice's money: `unpaid` (charge failed, retried), `held` in its escrow, then `released`,
    `refunded` or `split`, each move a conditional update (invoices.py)."""

    __tablename__ = "invoice_charges"
    invoice_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    contract_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(36))
    freelancer_id: Mapped[str] = mapped_column(sa.String(36))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    client_fee: Mapped[int] = mapped_column(sa.BigInteger)
    client_fee_bps: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20))
    last_error: Mapped[str | None] = mapped_column(sa.String(100))
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    freelancer_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    freelancer_fee: Mapped[int | None] = mapped_column(sa.BigInteger)
    refund_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    client_fee_refund: Mapped[int | None] = mapped_column(sa.BigInteger)
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    charged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Retries: a client's unpaid charges are tried oldest first.
    __table_args__ = (sa.Index("ix_invoice_charges_client_status", "client_id", "status", "period_start"),)
