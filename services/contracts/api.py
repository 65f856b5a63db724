"""The contracts HTTP API: offers, milestones, funding, submission, approval, ending early."""
from __future__ import annotations

import sqlalchemy as sa
from flask_smorest import Blueprint

from services.contracts import sagas, timeline
from services.contracts.models import Contract, Milestone
from services.contracts.schemas import (ContractListArgs, ContractOut, ContractPage, MessageIn, MilestoneIn,
                                        MilestoneOut, NoteIn, TimelinePage)
from shared.errors import Forbidden, NotFound
from shared.http import current_user, idempotent, paginate, require, unit_of_work
from shared.http.schemas import PageArgs

contracts = Blueprint("contracts", __name__, url_prefix="/contracts", description="Contracts and their milestones")
CONTRACT = "/<uuid:contract_id>"
MILESTONE = "/<uuid:contract_id>/milestones/<uuid:milestone_id>"


@contracts.get("")
@require()
@contracts.arguments(ContractListArgs, location="query")
@contracts.response(200, ContractPage)
def list_contracts(args):
    """The caller's contracts, as client, freelancer or either, newest first."""
    me = current_user().id
    parties = {"client": Contract.client_id == me, "freelancer": Contract.freelancer_id == me}
    query = sa.select(Contract).where(parties[args["role"]] if "role" in args else sa.or_(*parties.values()))
    if "status" in args:
        query = query.where(Contract.status == args["status"])
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, query, Contract, limit=args["limit"], cursor=args["cursor"])


@contracts.get(CONTRACT)
@require()
@contracts.response(200, ContractOut)
def get_contract(contract_id):
    """One contract with its milestones; only its parties (and admins) can see it."""
    with unit_of_work(readonly=True) as uow:
        return _visible(uow, contract_id, lock=False)


@contracts.get(f"{CONTRACT}/timeline")
@require()
@contracts.arguments(PageArgs, location="query")
@contracts.response(200, TimelinePage)
def get_timeline(args, contract_id):
    """Every change of status of the contract and its milestones, first to last: when, by whom, why, what
    the money did; only its parties (and admins) can see it."""
    with unit_of_work(readonly=True) as uow:
        contract = _visible(uow, contract_id, lock=False)
        return timeline.page(uow.session, contract.id, limit=args["limit"], cursor=args["cursor"])


@contracts.post(f"{CONTRACT}/accept")
@require()
@contracts.response(200, ContractOut)
def accept(contract_id):
    """The freelancer takes the offer: the contract is active."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "freelancer")
        sagas.accept(uow, contract)
        return contract


@contracts.post(f"{CONTRACT}/decline")
@require()
@contracts.arguments(NoteIn, required=False)
@contracts.response(202, ContractOut)
def decline(body, contract_id):
    """The freelancer turns the offer down; the funded escrow goes back to the client."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "freelancer")
        sagas.decline(uow, contract, body.get("note"))
        return contract


@contracts.post(f"{CONTRACT}/cancel")
@require()
@contracts.arguments(NoteIn, required=False)
@contracts.response(202, ContractOut)
def cancel(body, contract_id):
    """Withdraw an offer (client) or end an active contract (either party); escrow not yet released is refunded."""
    with unit_of_work() as uow:
        contract = _visible(uow, contract_id)
        if not contract.is_party(current_user().id):
            raise Forbidden("Only the contract's parties can cancel it.")
        sagas.cancel(uow, contract, current_user().id, body.get("note"))
        return contract


@contracts.post(f"{CONTRACT}/milestones")
@require()
@contracts.arguments(MilestoneIn)
@contracts.response(201, MilestoneOut)
def add_milestone(body, contract_id):
    """The client adds a milestone to an active contract; it is pending until funded."""
    with unit_of_work() as uow:
        contract = _as_party(_visible(uow, contract_id), "client")
        milestone = sagas.add_milestone(uow, contract, **body)
    return milestone, 201, {"Location": f"/contracts/{contract.id}"}


@contracts.post(f"{MILESTONE}/fund")
@require()
@idempotent
@contracts.response(202, MilestoneOut)
def fund(contract_id, milestone_id, uow):
    """The client moves a pending milestone's amount (plus the client fee) into escrow."""
    contract, milestone = _milestone(uow, contract_id, milestone_id, "client")
    sagas.fund(uow, contract, milestone)
    return milestone, 202


@contracts.post(f"{MILESTONE}/submit")
@require()
@contracts.arguments(MessageIn)
@contracts.response(200, MilestoneOut)
def submit(body, contract_id, milestone_id):
    """The freelancer hands in a funded milestone's work for approval."""
    with unit_of_work() as uow:
        contract, milestone = _milestone(uow, contract_id, milestone_id, "freelancer")
        sagas.submit(uow, contract, milestone, body["message"])
        return milestone


@contracts.post(f"{MILESTONE}/request-changes")
@require()
@contracts.arguments(MessageIn)
@contracts.response(200, MilestoneOut)
def request_changes(body, contract_id, milestone_id):
    """The client sends submitted work back with what to change."""
    with unit_of_work() as uow:
        contract, milestone = _milestone(uow, contract_id, milestone_id, "client")
        sagas.request_changes(uow, contract, milestone, body["message"])
        return milestone


@contracts.post(f"{MILESTONE}/approve")
@require()
@idempotent
@contracts.response(202, MilestoneOut)
def approve(contract_id, milestone_id, uow):
    """The client approves submitted work; the escrow is released to the freelancer."""
    contract, milestone = _milestone(uow, contract_id, milestone_id, "client")
    sagas.approve(uow, contract, milestone)
    return milestone, 202


def _visible(uow, contract_id, *, lock: bool = True) -> Contract:
    """The contract (row-locked for a change) if the caller may see it; 404 for everyone else."""
    contract = (sagas.locked_contract(uow, str(contract_id)) if lock
                else uow.session.get(Contract, str(contract_id)))
    user = current_user()
    if contract is None or not (contract.is_party(user.id) or user.has("admin")):
        raise NotFound("No such contract.")
    return contract


def _as_party(contract: Contract, party: str) -> Contract:
    if getattr(contract, f"{party}_id") != current_user().id:
        raise Forbidden(f"Only the contract's {party} can do this.")
    return contract


def _milestone(uow, contract_id, milestone_id, party: str) -> tuple[Contract, Milestone]:
    contract = _as_party(_visible(uow, contract_id), party)
    milestone = contract.milestone(str(milestone_id))
    if milestone is None:
        raise NotFound("No such milestone in this contract.")
    return contract, milestone
