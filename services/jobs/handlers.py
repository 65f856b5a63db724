"""What jobs does when a contract moves on in the Hiring saga, or a user is suspended."""
from __future__ import annotations

from services.jobs import hiring


def keep_offer_pending(event, uow):
    """The offer is funded: the proposal stays `offer_pending` while the freelancer decides."""
    hiring.offer_made(uow, contract_id=event.data["contract_id"], proposal_id=event.data["proposal_id"])


def mark_hired(event, uow):
    """The freelancer accepted: proposal `hired`, job `filled`, the job's other live proposals declined."""
    hiring.contract_activated(uow, contract_id=event.data["contract_id"], proposal_id=event.data["proposal_id"])


def settle_cancelled_offer(event, uow):
    """The contract ended: a failed funding reopens the proposal, any other end declines it."""
    data = event.data
    hiring.contract_cancelled(uow, contract_id=data["contract_id"], proposal_id=data["proposal_id"],
                              end_reason=data["end_reason"], released_amount=data["released_amount"])


def close_suspended_users_jobs(event, uow):
    """A suspended client's open jobs with no offer pending close; a suspended freelancer's waiting
    proposals are declined. (The kit records the suspension first, and forgets it on reinstatement.)"""
    hiring.user_suspended(uow, user_id=event.data["user_id"], reason=event.data["reason"])


HANDLERS = {
    "contracts.contract.offered": keep_offer_pending,
    "contracts.contract.activated": mark_hired,
    "contracts.contract.cancelled": settle_cancelled_offer,
    "users.user.suspended": close_suspended_users_jobs,
}
