"""The rules of proposals: who sends them, who sees them, withdrawing them."""
from __future__ import annotations

import sqlalchemy as sa

from services.jobs import postings
from services.jobs.models import Job, Proposal
from services.jobs.states import LIVE, PROPOSAL
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.ids import new_id


def submit(uow, *, freelancer_id: str, job_id: str, cover_letter: str, amount: int | None,
           estimated_days: int | None, rate: int | None = None) -> Proposal:
    session = uow.session
    job = postings.locked(uow, job_id)
    price_errors(job.budget_type, amount=amount, rate=rate)
    if job.client_id == freelancer_id:
        raise Forbidden("You cannot send a proposal on your own job.")
    postings.ensure_active(session, freelancer_id)
    if job.status != "open":
        raise Conflict(f"The job is {job.status}; it takes proposals only while open.")
    if session.scalar(sa.select(sa.exists().where(Proposal.job_id == job.id, Proposal.freelancer_id == freelancer_id,
                                                  Proposal.status.in_(LIVE)))):
        raise Conflict("You already have a live proposal on this job; withdraw it before sending another.")
    now = utcnow()
    proposal = Proposal(id=new_id(), job_id=job.id, freelancer_id=freelancer_id, cover_letter=cover_letter,
                        amount=amount, rate=rate, estimated_days=estimated_days, status="submitted", created_at=now,
                        updated_at=now)
    session.add(proposal)
    job.proposals_count += 1
    session.flush()
    uow.emit("jobs.proposal.submitted", {"proposal_id": proposal.id, "job_id": job.id,
                                         "freelancer_id": freelancer_id, "amount": amount, "rate": rate,
                                         "client_id": job.client_id, "job_title": job.title})
    return proposal


def price_errors(budget_type: str, *, amount: int | None, rate: int | None) -> None:
    """An hourly job is priced by `rate` alone, a fixed one by `amount` alone (422 naming the field)."""
    wanted, refused = ("rate", "amount") if budget_type == "hourly" else ("amount", "rate")
    given = {"amount": amount, "rate": rate}
    errors = {}
    if given[wanted] is None:
        errors[wanted] = [f"Required on a {budget_type} job."]
    if given[refused] is not None:
        errors[refused] = [f"Not allowed on a {budget_type} job."]
    if errors:
        raise Unprocessable(f"Invalid fields: {', '.join(sorted(errors))}", errors)


def listing(session, *, user_id: str, job_id: str, status: str | None = None):
    """The job's client sees every proposal; anyone else sees only their own."""
    job = postings.get(session, job_id)
    query = sa.select(Proposal).where(Proposal.job_id == job.id)
    if job.client_id != user_id:
        query = query.where(Proposal.freelancer_id == user_id)
    if status:
        query = query.where(Proposal.status == status)
    return query


def visible(session, *, user_id: str, job_id: str, proposal_id: str) -> Proposal:
    proposal = _of_job(session.get(Proposal, proposal_id), job_id)
    job = session.get(Job, proposal.job_id)
    if user_id not in (job.client_id, proposal.freelancer_id):
        raise NotFound("No such proposal.")
    return proposal


def locked(uow, job: Job, proposal_id: str) -> Proposal:
    proposal = uow.session.scalar(uow.for_update(sa.select(Proposal).where(Proposal.id == proposal_id))
                                  .execution_options(populate_existing=True))
    return _of_job(proposal, job.id)


def withdraw(uow, *, user_id: str, job_id: str, proposal_id: str) -> Proposal:
    job = postings.locked(uow, job_id)
    proposal = locked(uow, job, proposal_id)
    if proposal.freelancer_id != user_id:
        if job.client_id != user_id:
            raise NotFound("No such proposal.")
        raise Forbidden("Only the proposal's freelancer can withdraw it.")
    PROPOSAL.apply(proposal, "withdrawn")
    job.proposals_count -= 1
    return proposal


def _of_job(proposal: Proposal | None, job_id: str) -> Proposal:
    if proposal is None or proposal.job_id != job_id:
        raise NotFound("No such proposal.")
    return proposal
