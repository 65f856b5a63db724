"""contracts: fixed-price protection: milestone discounts and shares, refund requests, disputes, bonuses.

Its timer kinds are new, so none is set yet: contracts.refund_request.accept_unanswered (a refund
request's REFUND_RESPONSE_WINDOW), contracts.dispute.resolve_unanswered (DISPUTE_RESPONSE_WINDOW) and
contracts.dispute.escalate_unanswered (MEDIATION_ACCEPT_WINDOW).

Revision ID: contracts_0005
Revises: contracts_0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "contracts_0005"
down_revision = "contracts_0004"
branch_labels = None
depends_on = ("kit_0001",)  # the timers table is the kit's

TIMER_KINDS = ("contracts.refund_request.accept_unanswered", "contracts.dispute.resolve_unanswered",
               "contracts.dispute.escalate_unanswered")


def _contract_id() -> sa.Column:
    return sa.Column("contract_id", sa.String(36), sa.ForeignKey("contracts.id", ondelete="CASCADE"),
                     nullable=False, index=True)


def upgrade() -> None:
    with op.batch_alter_table("milestones") as table:
        table.add_column(sa.Column("discount_amount", sa.BigInteger, nullable=False, server_default="0"))
        table.add_column(sa.Column("asked_refund_amount", sa.BigInteger))
        table.add_column(sa.Column("freelancer_amount", sa.BigInteger))
        table.add_column(sa.Column("refund_amount", sa.BigInteger))
        table.add_column(sa.Column("refund_request_id", sa.String(36)))
        table.add_column(sa.Column("dispute_id", sa.String(36)))
        table.add_column(sa.Column("claimed_from", sa.String(20)))
    op.create_table(
        "refund_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        _contract_id(),
        sa.Column("milestone_id", sa.String(36), nullable=False, index=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("auto", sa.Boolean, nullable=False),
        sa.Column("respond_by", UTCDateTime, nullable=False),
        sa.Column("dispute_id", sa.String(36)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(36), primary_key=True),
        _contract_id(),
        sa.Column("milestone_id", sa.String(36), nullable=False),
        sa.Column("refund_request_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("freelancer_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("requested_amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("statement", sa.Text),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("respond_by", UTCDateTime, nullable=False),
        sa.Column("proposal_freelancer_amount", sa.BigInteger),
        sa.Column("proposal_refund_amount", sa.BigInteger),
        sa.Column("proposal_note", sa.Text),
        sa.Column("accept_by", UTCDateTime),
        sa.Column("client_answer", sa.String(10)),
        sa.Column("freelancer_answer", sa.String(10)),
        sa.Column("client_note", sa.Text),
        sa.Column("freelancer_note", sa.Text),
        sa.Column("decision_note", sa.Text),
        sa.Column("resolution", sa.String(30)),
        sa.Column("freelancer_amount", sa.BigInteger),
        sa.Column("refund_amount", sa.BigInteger),
        sa.Column("created_at", UTCDateTime, nullable=False, index=True),
        sa.Column("resolved_at", UTCDateTime),
    )
    op.create_table(
        "bonuses",
        sa.Column("id", sa.String(36), primary_key=True),
        _contract_id(),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("freelancer_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("client_fee", sa.BigInteger),
        sa.Column("freelancer_fee", sa.BigInteger),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failure_reason", sa.String(100)),
        sa.Column("available_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    timers = sa.table("timers", sa.column("kind"))
    op.execute(sa.delete(timers).where(timers.c.kind.in_(TIMER_KINDS)))
    for name in ("bonuses", "disputes", "refund_requests"):
        op.drop_table(name)
    with op.batch_alter_table("milestones") as table:
        for column in ("claimed_from", "dispute_id", "refund_request_id", "refund_amount", "freelancer_amount",
                       "asked_refund_amount", "discount_amount"):
            table.drop_column(column)
