"""The jobs HTTP API: postings and their search, proposals, hiring."""
from __future__ import annotations

from flask_smorest import Blueprint

from services.jobs import hiring, postings, proposals as rules
from services.jobs.models import Job, Proposal
from services.jobs.schemas import (HireIn, JobIn, JobOut, JobPage, JobPatchIn, JobSearchArgs, ProposalIn,
                                   ProposalListArgs, ProposalOut, ProposalPage)
from shared.errors import NotFound
from shared.http import current_user, idempotent, paginate, require, runtime_of, unit_of_work
from shared.http.reads import Body

jobs = Blueprint("jobs", __name__, url_prefix="/jobs", description="Job postings and their search")
proposals = Blueprint("proposals", __name__, url_prefix="/jobs/<uuid:job_id>/proposals",
                      description="Proposals on a job, and hiring one of them")


@jobs.post("")
@require("client")
@jobs.arguments(JobIn)
@jobs.response(201, JobOut)
def post_job(body):
    """Post a fixed-price or hourly job."""
    with unit_of_work() as uow:
        job = postings.post(uow, client_id=current_user().id, **body)
    return job, 201, {"Location": f"/jobs/{job.id}"}


@jobs.get("")
@jobs.arguments(JobSearchArgs, location="query")
@jobs.response(200, JobPage)
def search(args):
    """Find jobs by words of their title or description, skill, budget, status or client; newest first."""
    limit, cursor = args.pop("limit"), args.pop("cursor")
    with unit_of_work(readonly=True) as uow:
        query = postings.search(uow.session.get_bind().dialect.name, **args)
        return paginate(uow.session, query, Job, limit=limit, cursor=cursor)


@jobs.get("/<uuid:job_id>")
@jobs.response(200, JobOut, headers={"ETag": {"description": "A strong tag of the body, for `If-None-Match`",
                                             "schema": {"type": "string"}}})
@jobs.alt_response(304, description="Not modified: `If-None-Match` names the current tag")
def get_job(job_id):
    """One job; anyone may read it. A change is seen within `JOB_CACHE_TTL` (1s); revalidate with `If-None-Match`."""
    runtime, key = runtime_of(), str(job_id)
    body = runtime.collaborators["job_cache"].get(key, lambda: _public_body(runtime.db, key))
    if body is None:
        raise NotFound("No such job.")
    return body.answer()


def _public_body(db, job_id: str) -> Body | None:
    job = postings.public(db, job_id)
    return None if job is None else Body.of(job)


@jobs.patch("/<uuid:job_id>")
@require()
@jobs.arguments(JobPatchIn)
@jobs.response(200, JobOut)
def edit_job(body, job_id):
    """Change an open job; fields not given are left as they are."""
    with unit_of_work() as uow:
        return postings.edit(uow, user_id=current_user().id, job_id=str(job_id), changes=body)


@jobs.post("/<uuid:job_id>/close")
@require()
@jobs.response(200, JobOut)
def close_job(job_id):
    """Close an open job; its proposals still waiting for an answer are declined."""
    with unit_of_work() as uow:
        return postings.close(uow, user_id=current_user().id, job_id=str(job_id))


@proposals.post("")
@require("freelancer")
@proposals.arguments(ProposalIn)
@proposals.response(201, ProposalOut)
def propose(body, job_id):
    """Send a proposal on an open job (one live proposal per freelancer and job)."""
    with unit_of_work() as uow:
        proposal = rules.submit(uow, freelancer_id=current_user().id, job_id=str(job_id), **body)
    return proposal, 201, {"Location": f"/jobs/{job_id}/proposals/{proposal.id}"}


@proposals.get("")
@require()
@proposals.arguments(ProposalListArgs, location="query")
@proposals.response(200, ProposalPage)
def list_proposals(args, job_id):
    """The job's client sees all its proposals; a freelancer sees their own."""
    with unit_of_work(readonly=True) as uow:
        query = rules.listing(uow.session, user_id=current_user().id, job_id=str(job_id), status=args.get("status"))
        return paginate(uow.session, query, Proposal, limit=args["limit"], cursor=args["cursor"])


@proposals.get("/<uuid:proposal_id>")
@require()
@proposals.response(200, ProposalOut)
def get_proposal(job_id, proposal_id):
    """One proposal, for the job's client or the proposal's freelancer; nobody else finds it."""
    with unit_of_work(readonly=True) as uow:
        return rules.visible(uow.session, user_id=current_user().id, job_id=str(job_id), proposal_id=str(proposal_id))


@proposals.post("/<uuid:proposal_id>/withdraw")
@require()
@proposals.response(200, ProposalOut)
def withdraw(job_id, proposal_id):
    """Take back a proposal that no offer has been made on."""
    with unit_of_work() as uow:
        return rules.withdraw(uow, user_id=current_user().id, job_id=str(job_id), proposal_id=str(proposal_id))


@proposals.post("/<uuid:proposal_id>/hire")
@require()
@proposals.arguments(HireIn)
@idempotent
@proposals.response(202, ProposalOut)
def hire(body, job_id, proposal_id, uow):
    """Start the hiring saga: the proposal is `offer_pending` until the contract settles."""
    proposal = hiring.hire(uow, client_id=current_user().id, job_id=str(job_id), proposal_id=str(proposal_id),
                           milestones=body["milestones"], weekly_limit_hours=body["weekly_limit_hours"])
    return proposal, 202, {"Location": f"/contracts/{proposal.contract_id}"}
