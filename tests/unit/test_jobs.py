"""The rules of jobs: postings, proposals, and the jobs side of the Hiring saga."""
from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa

from services.jobs import SERVICE, fulltext, hiring, postings
from services.jobs.models import Job, Proposal
from shared.errors import Conflict, Forbidden, IllegalTransition, NotFound, Unprocessable
from shared.suspensions import SuspendedAccountRow
from tests.unit.fakes import delivered, new_id

# The package's `proposals` is its blueprint, which hides the module of the same name as an attribute.
proposals = importlib.import_module("services.jobs.proposals")


@pytest.fixture
def uow(make_uow):
    # The search index is SQLite's own FTS5 table, made beside the models' tables.
    return make_uow(SERVICE, ddl=fulltext.SQLITE_DDL)


def post(uow, client_id: str | None = None, **changes) -> Job:
    fields = {"title": "A shop in Django", "description": "Products, a cart and a checkout.",
              "skills": ["Python", "django"], "budget_type": "fixed", "budget_amount": 50_000, "hourly_rate_max": None}
    return postings.post(uow, client_id=client_id or new_id(), **{**fields, **changes})


def propose(uow, job: Job, freelancer_id: str | None = None, amount: int = 40_000) -> Proposal:
    return proposals.submit(uow, freelancer_id=freelancer_id or new_id(), job_id=job.id, cover_letter="I can.",
                            amount=amount, estimated_days=10)


def hire(uow, job: Job, proposal: Proposal, milestones=None) -> Proposal:
    return hiring.hire(uow, client_id=job.client_id, job_id=job.id, proposal_id=proposal.id, milestones=milestones)


class TestPostJob:
    def test_a_posted_job_is_open_and_announced(self, uow):
        job = post(uow, skills=["Python", "python ", "Django"])

        assert (job.status, job.proposals_count, job.skills) == ("open", 0, ["Python", "Django"])
        posted = uow.event("jobs.job.posted")
        assert (posted["job_id"], posted["skills"], posted["budget_amount"]) == (job.id, ["Python", "Django"], 50_000)

    def test_a_suspended_client_cannot_post(self, uow):
        client = new_id()
        uow.session.add(SuspendedAccountRow(user_id=client, reason="fraud"))

        with pytest.raises(Forbidden):
            post(uow, client)

    @pytest.mark.parametrize("budget, wrong", [
        (("fixed", None, None), ["budget_amount"]),
        (("fixed", postings.MIN_FIXED_BUDGET - 1, None), ["budget_amount"]),
        (("fixed", 50_000, 3_000), ["hourly_rate_max"]),
        (("hourly", None, None), ["hourly_rate_max"]),
        (("fixed", postings.MIN_FIXED_BUDGET, None), []),
        (("hourly", None, 3_000), []),
    ])
    def test_a_budget_is_checked_as_a_whole(self, budget, wrong):
        assert sorted(postings.budget_errors(*budget)) == wrong


class TestEditJob:
    def test_the_client_edits_an_open_job(self, uow):
        job = post(uow)

        postings.edit(uow, user_id=job.client_id, job_id=job.id, changes={"title": "A bigger shop", "skills": ["Go"]})

        assert (job.title, job.skills) == ("A bigger shop", ["Go"])

    def test_only_the_client_edits(self, uow):
        job = post(uow)

        with pytest.raises(Forbidden):
            postings.edit(uow, user_id=new_id(), job_id=job.id, changes={"title": "Mine"})

    def test_turning_an_hourly_job_fixed_drops_its_maximum_rate(self, uow):
        job = post(uow, budget_type="hourly", budget_amount=None, hourly_rate_max=3_000)

        postings.edit(uow, user_id=job.client_id, job_id=job.id,
                      changes={"budget_type": "fixed", "budget_amount": 10_000})

        assert (job.budget_type, job.budget_amount, job.hourly_rate_max) == ("fixed", 10_000, None)

    def test_an_edit_that_breaks_the_budget_is_refused_field_by_field(self, uow):
        job = post(uow)

        with pytest.raises(Unprocessable) as raised:
            postings.edit(uow, user_id=job.client_id, job_id=job.id, changes={"budget_type": "hourly"})
        assert raised.value.extra["errors"] == {"hourly_rate_max": ["Required for an hourly job."]}

    def test_a_closed_job_is_not_edited(self, uow):
        job = post(uow)
        postings.close(uow, user_id=job.client_id, job_id=job.id)

        with pytest.raises(Conflict):
            postings.edit(uow, user_id=job.client_id, job_id=job.id, changes={"title": "Again"})

    def test_an_unknown_job_is_not_found(self, uow):
        with pytest.raises(NotFound):
            postings.edit(uow, user_id=new_id(), job_id=new_id(), changes={})


class TestCloseJob:
    def test_closing_declines_the_proposals_still_waiting(self, uow):
        job = post(uow)
        waiting = propose(uow, job)

        postings.close(uow, user_id=job.client_id, job_id=job.id)

        assert (job.status, waiting.status) == ("closed", "declined")

    def test_a_job_with_an_offer_pending_closes_once_the_offer_is_settled(self, uow):
        job = post(uow)
        hire(uow, job, propose(uow, job))

        with pytest.raises(Conflict, match="offer is pending"):
            postings.close(uow, user_id=job.client_id, job_id=job.id)

    def test_a_closed_job_cannot_close_again(self, uow):
        job = post(uow)
        postings.close(uow, user_id=job.client_id, job_id=job.id)

        with pytest.raises(IllegalTransition):
            postings.close(uow, user_id=job.client_id, job_id=job.id)


class TestSearchJobs:
    def test_every_word_must_be_in_the_title_or_the_description(self, uow):
        shop = post(uow, title="A shop in Django", description="With a cart.")
        post(uow, title="A blog in Django", description="With comments.")
        uow.session.flush()

        found = uow.session.scalars(postings.search("sqlite", q="django CART")).all()

        assert [job.id for job in found] == [shop.id]

    def test_the_budget_of_an_hourly_job_is_its_maximum_rate(self, uow):
        hourly = post(uow, budget_type="hourly", budget_amount=None, hourly_rate_max=5_000)
        post(uow, budget_amount=50_000)

        found = uow.session.scalars(postings.search("sqlite", min_budget=1_000, max_budget=10_000)).all()

        assert [job.id for job in found] == [hourly.id]


class TestSendProposal:
    def test_a_proposal_is_submitted_counted_and_announced(self, uow):
        job = post(uow)

        proposal = propose(uow, job, amount=42_000)

        assert (proposal.status, job.proposals_count) == ("submitted", 1)
        assert uow.event("jobs.proposal.submitted") == {"proposal_id": proposal.id, "job_id": job.id,
                                                        "freelancer_id": proposal.freelancer_id, "amount": 42_000,
                                                        "rate": None, "client_id": job.client_id, "job_title": job.title}

    def test_no_proposal_on_ones_own_job(self, uow):
        job = post(uow)

        with pytest.raises(Forbidden):
            propose(uow, job, freelancer_id=job.client_id)

    def test_a_closed_job_takes_no_proposals(self, uow):
        job = post(uow)
        postings.close(uow, user_id=job.client_id, job_id=job.id)

        with pytest.raises(Conflict):
            propose(uow, job)

    def test_one_live_proposal_per_freelancer_and_job(self, uow):
        job = post(uow)
        first = propose(uow, job)

        with pytest.raises(Conflict, match="live proposal"):
            propose(uow, job, freelancer_id=first.freelancer_id)

    def test_a_withdrawn_proposal_may_be_sent_again(self, uow):
        job = post(uow)
        first = propose(uow, job)
        proposals.withdraw(uow, user_id=first.freelancer_id, job_id=job.id, proposal_id=first.id)

        again = propose(uow, job, freelancer_id=first.freelancer_id)

        assert again.status == "submitted"

    def test_a_suspended_freelancer_cannot_propose(self, uow):
        job = post(uow)
        freelancer = new_id()
        uow.session.add(SuspendedAccountRow(user_id=freelancer, reason="fraud"))

        with pytest.raises(Forbidden):
            propose(uow, job, freelancer_id=freelancer)


class TestWithdrawProposal:
    def test_the_freelancer_withdraws_and_the_count_goes_down(self, uow):
        job = post(uow)
        proposal = propose(uow, job)

        proposals.withdraw(uow, user_id=proposal.freelancer_id, job_id=job.id, proposal_id=proposal.id)

        assert (proposal.status, job.proposals_count) == ("withdrawn", 0)

    def test_the_client_cannot_withdraw_it_and_a_stranger_does_not_see_it(self, uow):
        job = post(uow)
        proposal = propose(uow, job)

        with pytest.raises(Forbidden):
            proposals.withdraw(uow, user_id=job.client_id, job_id=job.id, proposal_id=proposal.id)
        with pytest.raises(NotFound):
            proposals.withdraw(uow, user_id=new_id(), job_id=job.id, proposal_id=proposal.id)

    def test_a_proposal_withdrawn_once_cannot_be_withdrawn_again(self, uow):
        job = post(uow)
        proposal = propose(uow, job)
        proposals.withdraw(uow, user_id=proposal.freelancer_id, job_id=job.id, proposal_id=proposal.id)

        with pytest.raises(IllegalTransition):
            proposals.withdraw(uow, user_id=proposal.freelancer_id, job_id=job.id, proposal_id=proposal.id)


class TestHire:
    def test_hiring_puts_the_offer_pending_and_asks_contracts_for_the_contract(self, uow):
        job = post(uow)
        proposal = propose(uow, job, amount=40_000)
        uow.forget()

        hire(uow, job, proposal)

        assert proposal.status == "offer_pending"
        requested = uow.event("jobs.hire.requested")
        assert requested["contract_id"] == proposal.contract_id
        assert uow.emitted[0].correlation_id == proposal.contract_id
        assert [(m["title"], m["amount"]) for m in requested["milestones"]] == [(hiring.DEFAULT_MILESTONE, 40_000)]

    def test_the_client_may_plan_the_milestones(self, uow):
        job = post(uow)
        proposal = propose(uow, job)

        hire(uow, job, proposal, milestones=[{"title": "Design", "amount": 10_000}, {"title": "Build", "amount": 30_000}])

        planned = uow.event("jobs.hire.requested")["milestones"]
        assert [m["amount"] for m in planned] == [10_000, 30_000]
        assert len({m["milestone_id"] for m in planned}) == 2

    def test_only_the_jobs_client_hires(self, uow):
        job = post(uow)
        proposal = propose(uow, job)

        with pytest.raises(Forbidden):
            hiring.hire(uow, client_id=new_id(), job_id=job.id, proposal_id=proposal.id, milestones=None)

    def test_a_second_hire_while_an_offer_is_pending_is_refused(self, uow):
        job = post(uow)
        hire(uow, job, propose(uow, job))

        with pytest.raises(Conflict, match="offer pending"):
            hire(uow, job, propose(uow, job))

    def test_a_closed_job_does_not_hire(self, uow):
        job = post(uow)
        proposal = propose(uow, job)
        postings.close(uow, user_id=job.client_id, job_id=job.id)

        with pytest.raises(Conflict):
            hire(uow, job, proposal)


class TestContractOutcome:
    @pytest.fixture
    def story(self, uow):
        job = post(uow)
        chosen, other = propose(uow, job), propose(uow, job)
        hire(uow, job, chosen)
        uow.forget()
        return job, chosen, other

    def test_an_offer_keeps_the_proposal_pending(self, uow, story):
        job, chosen, _ = story

        hiring.offer_made(uow, contract_id=chosen.contract_id, proposal_id=chosen.id)

        assert (chosen.status, job.status) == ("offer_pending", "open")

    def test_an_activated_contract_hires_fills_the_job_and_declines_the_others(self, uow, story):
        job, chosen, other = story

        hiring.contract_activated(uow, contract_id=chosen.contract_id, proposal_id=chosen.id)

        assert (chosen.status, job.status, other.status) == ("hired", "filled", "declined")

    def test_a_failed_funding_reopens_the_proposal_for_another_hire(self, uow, story):
        _, chosen, _ = story

        hiring.contract_cancelled(uow, contract_id=chosen.contract_id, proposal_id=chosen.id,
                                  end_reason="funding_failed", released_amount=0)

        assert (chosen.status, chosen.contract_id) == ("submitted", None)

    def test_after_a_failed_funding_the_client_may_hire_again(self, uow, story):
        job, chosen, _ = story
        failed = chosen.contract_id
        hiring.contract_cancelled(uow, contract_id=failed, proposal_id=chosen.id, end_reason="funding_failed",
                                  released_amount=0)

        hire(uow, job, chosen)

        assert chosen.status == "offer_pending"
        assert chosen.contract_id not in (None, failed)

    def test_a_declined_offer_declines_the_proposal(self, uow, story):
        _, chosen, other = story

        hiring.contract_cancelled(uow, contract_id=chosen.contract_id, proposal_id=chosen.id,
                                  end_reason="declined", released_amount=0)

        assert (chosen.status, other.status) == ("declined", "submitted")

    @pytest.mark.parametrize("end_reason, released_amount", [
        *((reason, 0) for reason in hiring.ENDED_WHILE_ACTIVE), ("party_suspended", 5_000)])
    def test_an_end_that_proves_the_hire_happened_hires(self, uow, story, end_reason, released_amount):
        job, chosen, _ = story

        hiring.contract_cancelled(uow, contract_id=chosen.contract_id, proposal_id=chosen.id,
                                  end_reason=end_reason, released_amount=released_amount)

        assert (chosen.status, job.status) == ("hired", "filled")

    def test_an_event_for_another_contract_of_the_proposal_is_ignored(self, uow, story):
        _, chosen, _ = story

        hiring.contract_activated(uow, contract_id=new_id(), proposal_id=chosen.id)

        assert chosen.status == "offer_pending"

    def test_an_event_naming_an_unknown_proposal_is_ignored(self, uow, story):
        hiring.contract_activated(uow, contract_id=new_id(), proposal_id=new_id())

        assert [p.status for p in story[1:]] == ["offer_pending", "submitted"]

    def test_a_suspended_clients_job_closes_once_its_offer_is_settled(self, uow, story):
        job, chosen, _ = story
        SERVICE.handlers["users.user.suspended"](delivered("users.user.suspended",
                                                           {"user_id": job.client_id, "reason": "fraud"}), uow)
        assert job.status == "open"

        hiring.contract_cancelled(uow, contract_id=chosen.contract_id, proposal_id=chosen.id,
                                  end_reason="withdrawn", released_amount=0)

        assert job.status == "closed"


class TestUserSuspended:
    def test_the_users_open_jobs_without_an_offer_close(self, uow):
        client = new_id()
        quiet, busy = post(uow, client), post(uow, client)
        waiting = propose(uow, quiet)
        hire(uow, busy, propose(uow, busy))

        SERVICE.handlers["users.user.suspended"](delivered("users.user.suspended",
                                                           {"user_id": client, "reason": "fraud"}), uow)

        assert (quiet.status, waiting.status, busy.status) == ("closed", "declined", "open")
        assert uow.session.get(SuspendedAccountRow, client).reason == "fraud"

    def test_hearing_of_a_suspension_twice_keeps_one_record(self, uow):
        user = new_id()

        for _ in range(2):
            SERVICE.handlers["users.user.suspended"](delivered("users.user.suspended",
                                                               {"user_id": user, "reason": "fraud"}), uow)

        assert uow.session.scalar(sa.select(sa.func.count()).select_from(SuspendedAccountRow)) == 1
