"""Events produced by the jobs service."""
from marshmallow import fields, validate

from shared.events.fields import Day, EventSchema, Id, Money, String


class JobPosted(EventSchema):
    job_id = Id(required=True)
    client_id = Id(required=True)
    title = String(required=True)
    skills = fields.List(String(), required=True)
    budget_type = String(required=True, validate=validate.OneOf(["fixed", "hourly"]))
    budget_amount = Money(allow_none=True, load_default=None)


class ProposalSubmitted(EventSchema):
    proposal_id = Id(required=True)
    job_id = Id(required=True)
    freelancer_id = Id(required=True)
    amount = Money(required=True)
    # Added later (for messages' rooms): jobs always sends them; an event sent before has neither.
    client_id = Id(allow_none=True, load_default=None)
    job_title = fields.String(allow_none=True, load_default=None)


class HiredMilestone(EventSchema):
    milestone_id = Id(required=True)
    title = String(required=True)
    amount = Money(required=True)
    due_date = Day(allow_none=True, load_default=None)


class HireRequested(EventSchema):
    contract_id = Id(required=True)
    job_id = Id(required=True)
    proposal_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)
    title = String(required=True)
    milestones = fields.List(fields.Nested(HiredMilestone), required=True, validate=validate.Length(min=1, max=20))


EVENTS = {
    "jobs.job.posted": JobPosted,
    "jobs.proposal.submitted": ProposalSubmitted,
    "jobs.hire.requested": HireRequested,
}
