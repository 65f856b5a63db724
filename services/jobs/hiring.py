"""The jobs side of the Hiring saga: asking for a contract, then following what became of it."""
from __future__ import annotations

import logging

import sqlalchemy as sa

from services.jobs import postings, proposals
from services.jobs.models import Job, Proposal
from services.jobs.states import JOB, LIVE, PROPOSAL
from shared.errors import Conflict, Forbidden, Unprocessable
from shared.ids import new_id
from shared.suspensions import listed as suspended

log = logging.getLogger(__name__)

DEFAULT_MILESTONE = "Complete the project"
# Ordering: only an active contract can be ended by a party (or have released money), so such
# a cancellation proves the hire happened even if `contracts.contract.activated` is still on its way.
ENDED_WHILE_ACTIVE = ("ended_by_client", "ended_by_freelancer")


def hire(uow, *, client_id: str, job_id: str, proposal_id: str, milestones: list[dict] | None,
         weekly_limit_hours: int | None = None) -> Proposal:
    """Put the proposal in `offer_pending` and ask contracts for the contract (saga step 1)."""
    job = postings.locked(uow, job_id)
    if job.client_id != client_id:
        raise Forbidden("Only the job's client can hire for it.")
    _terms_errors(job.budget_type, milestones, weekly_limit_hours)
    proposal = proposals.locked(uow, job, proposal_id)
    if suspended(uow.session, proposal.freelancer_id):
        raise Conflict("The freelancer's account is suspended; they cannot be hired.")
    if job.status != "open":
        raise Conflict(f"The job is {job.status}; only an open job can hire.")
    if proposal.status == "submitted" and postings.offer_pending_on(uow.session, job):
        raise Conflict("Another proposal of this job has an offer pending; wait until it is settled.")
    PROPOSAL.apply(proposal, "offer_pending")
    proposal.contract_id = new_id()
    hourly = job.budget_type == "hourly"
    plan = [] if hourly else milestones or [{"title": DEFAULT_MILESTONE, "amount": proposal.amount}]
    uow.emit("jobs.hire.requested", {
        "contract_id": proposal.contract_id, "job_id": job.id, "proposal_id": proposal.id, "client_id": job.client_id,
        "freelancer_id": proposal.freelancer_id, "title": job.title, "type": job.budget_type,
        "hourly_rate": proposal.rate if hourly else None, "weekly_limit_hours": weekly_limit_hours,
        "milestones": [{"milestone_id": new_id(), "title": m["title"], "amount": m["amount"],
                        "due_date": m.get("due_date")} for m in plan],
    }, correlation_id=proposal.contract_id)
    return proposal


def _terms_errors(budget_type: str, milestones: list[dict] | None, weekly_limit_hours: int | None) -> None:
    """An hourly hire names its weekly limit and no milestones; a fixed one the reverse (422 naming the field)."""
    errors = {}
    if budget_type == "hourly":
        if weekly_limit_hours is None:
            errors["weekly_limit_hours"] = ["Required to hire on an hourly job."]
        if milestones is not None:
            errors["milestones"] = ["Not allowed on an hourly job."]
    elif weekly_limit_hours is not None:
        errors["weekly_limit_hours"] = ["Not allowed on a fixed-price job."]
    if errors:
        raise Unprocessable(f"Invalid fields: {', '.join(sorted(errors))}", errors)


def offer_made(uow, *, contract_id: str, proposal_id: str) -> None:
    """The offer is funded and waiting for the freelancer: the proposal stays `offer_pending`."""
    _settling(uow, contract_id, proposal_id)


def contract_activated(uow, *, contract_id: str, proposal_id: str) -> None:
    found = _settling(uow, contract_id, proposal_id)
    if found is None:
        return
    job, proposal = found
    if proposal.status == "offer_pending":
        _hired(uow.session, job, proposal)
    elif proposal.status != "hired":
        log.warning("contract %s activated, but proposal %s is %s; left as it is", contract_id, proposal.id,
                    proposal.status)


def contract_cancelled(uow, *, contract_id: str, proposal_id: str, end_reason: str, released_amount: int) -> None:
    """Funding failed: the client may hire again. Otherwise the offer is over: declined."""
    found = _settling(uow, contract_id, proposal_id)
    if found is None:
        return
    job, proposal = found
    if proposal.status != "offer_pending":
        return
    if end_reason in ENDED_WHILE_ACTIVE or released_amount > 0:
        _hired(uow.session, job, proposal)
        return
    if end_reason == "funding_failed":
        PROPOSAL.apply(proposal, "submitted")
        proposal.contract_id = None
    else:
        PROPOSAL.apply(proposal, "declined")
    if job.status == "open" and suspended(uow.session, job.client_id):
        postings.close_job(uow.session, job)


def user_suspended(uow, *, user_id: str, reason: str) -> None:
    """Close the user's open jobs that have no offer pending (those close when the offer settles),
    and decline the proposals they sent that wait for an answer (one with an offer pending is
    declined when contracts withdraws the offer). The kit has recorded the suspension already."""
    session = uow.session
    jobs = session.scalars(uow.for_update(sa.select(Job).where(Job.client_id == user_id, Job.status == "open"))).all()
    for job in jobs:
        if not postings.offer_pending_on(session, job):
            postings.close_job(session, job)
    sent = session.scalars(uow.for_update(sa.select(Proposal).where(
        Proposal.freelancer_id == user_id, Proposal.status == "submitted").order_by(Proposal.id))).all()
    for proposal in sent:
        PROPOSAL.apply(proposal, "declined")


def _settling(uow, contract_id: str, proposal_id: str) -> tuple[Job, Proposal] | None:
    """The locked job and proposal this contract was made for, or None for an event not meant for them."""
    job_id = uow.session.scalar(sa.select(Proposal.job_id).where(Proposal.id == proposal_id))
    if job_id is None:
        log.warning("contract %s names proposal %s, which jobs does not know; ignored", contract_id, proposal_id)
        return None
    job = postings.locked(uow, job_id)
    proposal = proposals.locked(uow, job, proposal_id)
    if proposal.contract_id != contract_id:
        log.info("contract %s is not the current contract of proposal %s (%s); ignored", contract_id, proposal_id,
                 proposal.contract_id)
        return None
    return job, proposal


def _hired(session, job: Job, proposal: Proposal) -> None:
    PROPOSAL.apply(proposal, "hired")
    if JOB.can(job.status, "filled"):
        JOB.apply(job, "filled")
    others = session.scalars(sa.select(Proposal).where(Proposal.job_id == job.id, Proposal.id != proposal.id,
                                                       Proposal.status.in_(LIVE)))
    for other in others:
        PROPOSAL.apply(other, "declined")
