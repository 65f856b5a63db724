"""The rules of job postings: posting, editing, closing, and searching them."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload, selectinload

from services.jobs import fulltext
from services.jobs.models import Job, JobSkill, Proposal
from services.jobs.states import JOB, PROPOSAL
from shared.db import Database, utcnow
from shared.events.fields import format_timestamp
from shared.errors import AccountSuspended, Conflict, Forbidden, NotFound, Unprocessable
from shared.ids import new_id
from shared.suspensions import listed

MIN_FIXED_BUDGET = 500


def budget_errors(budget_type: str, budget_amount: int | None, hourly_rate_max: int | None) -> dict[str, list[str]]:
    """What is wrong with a budget as a whole (each field alone is checked by the schema)."""
    errors: dict[str, list[str]] = {}
    if budget_type == "fixed":
        if budget_amount is None:
            errors["budget_amount"] = ["Required for a fixed-price job."]
        elif budget_amount < MIN_FIXED_BUDGET:
            errors["budget_amount"] = [f"Must be at least {MIN_FIXED_BUDGET} cents for a fixed-price job."]
        if hourly_rate_max is not None:
            errors["hourly_rate_max"] = ["Only an hourly job has a maximum hourly rate."]
    elif hourly_rate_max is None:
        errors["hourly_rate_max"] = ["Required for an hourly job."]
    return errors


def ensure_active(session, user_id: str) -> None:
    if listed(session, user_id):
        raise AccountSuspended()


def post(uow, *, client_id: str, title: str, description: str, skills: list[str], budget_type: str,
         budget_amount: int | None, hourly_rate_max: int | None) -> Job:
    ensure_active(uow.session, client_id)
    now = utcnow()
    job = Job(id=new_id(), client_id=client_id, title=title, description=description, budget_type=budget_type,
              budget_amount=budget_amount, hourly_rate_max=hourly_rate_max, status="open", proposals_count=0,
              created_at=now, updated_at=now, skill_rows=[])
    job.set_skills(skills)
    uow.session.add(job)
    uow.session.flush()
    uow.emit("jobs.job.posted", {"job_id": job.id, "client_id": client_id, "title": title, "skills": job.skills,
                                 "budget_type": budget_type, "budget_amount": budget_amount})
    return job


def get(session, job_id: str) -> Job:
    # One query with its skills joined, rather than a second query for them (half the read's time).
    job = session.get(Job, job_id, options=[joinedload(Job.skill_rows)])
    if job is None:
        raise NotFound("No such job.")
    return job


_JOB, _SKILL = Job.__table__.c, JobSkill.__table__.c
_PUBLIC = (sa.select(_JOB.id, _JOB.client_id, _JOB.title, _JOB.description, _JOB.budget_type, _JOB.budget_amount,
                     _JOB.hourly_rate_max, _JOB.status, _JOB.proposals_count, _JOB.created_at, _SKILL.skill)
           .select_from(Job.__table__.outerjoin(JobSkill.__table__, _SKILL.job_id == _JOB.id))
           .where(_JOB.id == sa.bindparam("job_id"))
           .order_by(_SKILL.position))


def public(db: Database, job_id: str) -> dict | None:
    """The job as `GET /jobs/{id}` answers it (`JobOut`'s fields): one statement, no ORM; None if none."""
    rows = db.read(_PUBLIC, {"job_id": job_id})
    if not rows:
        return None
    job = rows[0]
    return {"id": job.id, "client_id": job.client_id, "title": job.title, "description": job.description,
            "skills": [row.skill for row in rows if row.skill is not None], "budget_type": job.budget_type,
            "budget_amount": job.budget_amount, "hourly_rate_max": job.hourly_rate_max, "currency": "USD",
            "status": job.status, "proposals_count": job.proposals_count,
            "created_at": format_timestamp(job.created_at)}


def locked(uow, job_id: str, *, with_skills: bool = False) -> Job:
    """The job, row-locked; its skills loaded up front only when it is going to be sent back."""
    # Locking: everything that changes a job or any of its proposals (HTTP or event) takes
    # this lock first, so two hires, a hire and a close, or a proposal and a close never interleave.
    skills = selectinload(Job.skill_rows) if with_skills else lazyload(Job.skill_rows)
    job = uow.session.scalar(uow.for_update(sa.select(Job).where(Job.id == job_id))
                             .options(skills).execution_options(populate_existing=True))
    if job is None:
        raise NotFound("No such job.")
    return job


def own(uow, job_id: str, user_id: str, doing: str) -> Job:
    job = locked(uow, job_id, with_skills=True)
    if job.client_id != user_id:
        raise Forbidden(f"Only the job's client can {doing}.")
    return job


def edit(uow, *, user_id: str, job_id: str, changes: dict) -> Job:
    job = own(uow, job_id, user_id, "edit it")
    if job.status != "open":
        raise Conflict(f"The job is {job.status}; only an open job can be edited.")
    if changes.get("budget_type") == "fixed" and "hourly_rate_max" not in changes:
        changes["hourly_rate_max"] = None
    budget = {field: changes.get(field, getattr(job, field))
              for field in ("budget_type", "budget_amount", "hourly_rate_max")}
    errors = budget_errors(**budget)
    if errors:
        raise Unprocessable(f"Invalid fields: {', '.join(sorted(errors))}", errors)
    skills = changes.pop("skills", None)
    for field, value in changes.items():
        setattr(job, field, value)
    if skills is not None:
        job.set_skills(skills)
    return job


def close(uow, *, user_id: str, job_id: str) -> Job:
    job = own(uow, job_id, user_id, "close it")
    close_job(uow.session, job)
    return job


def offer_pending_on(session, job: Job) -> bool:
    return session.scalar(sa.select(sa.exists().where(Proposal.job_id == job.id,
                                                      Proposal.status == "offer_pending"))) or False


def close_job(session, job: Job) -> None:
    """Close a locked job; proposals still waiting for an answer are declined."""
    if job.status == "open" and offer_pending_on(session, job):
        raise Conflict("An offer is pending on this job; it can be closed once the offer is settled.")
    JOB.apply(job, "closed")
    for proposal in session.scalars(sa.select(Proposal).where(Proposal.job_id == job.id,
                                                              Proposal.status == "submitted")):
        PROPOSAL.apply(proposal, "declined")


def search(dialect: str, *, q: str | None = None, skill: str | None = None, status: str = "open",
           client_id: str | None = None, budget_type: str | None = None, min_budget: int | None = None,
           max_budget: int | None = None):
    """Jobs matching every filter given; the budget of an hourly job is its maximum rate."""
    query = sa.select(Job)
    if status != "any":
        query = query.where(Job.status == status)
    if client_id:
        query = query.where(Job.client_id == client_id)
    if budget_type:
        query = query.where(Job.budget_type == budget_type)
    budget = sa.case((Job.budget_type == "hourly", Job.hourly_rate_max), else_=Job.budget_amount)
    if min_budget is not None:
        query = query.where(budget >= min_budget)
    if max_budget is not None:
        query = query.where(budget <= max_budget)
    if skill:
        query = query.where(Job.id.in_(sa.select(JobSkill.job_id).where(JobSkill.skill_key == skill.strip().lower())))
    terms = fulltext.words(q or "")
    if terms:
        query = query.where(fulltext.matching(terms, dialect))
    return query
