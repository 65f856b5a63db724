"""Events produced by the jobs service."""
from marshmallow import ValidationError, fields, validate, validates_schema

from shared.events.fields import Day, EventSchema, Id, Integer, Money, String


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
    amount = Money(allow_none=True, required=True)
    rate = Money(allow_none=True, load_default=None)  # hourly jobs: cents an hour (amount is then null)
    # Added later (for messages' rooms): jobs always sends them; an event sent before has neither.
    client_id = Id(allow_none=True, load_default=None)
    job_title = String(allow_none=True, load_default=None)


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
    # Hourly: no milestones, a rate and a weekly limit instead (an older hire is fixed-price).
    type = String(load_default="fixed", validate=validate.OneOf(["fixed", "hourly"]))
    hourly_rate = Money(allow_none=True, load_default=None)
    weekly_limit_hours = Integer(minimum=1, maximum=80, allow_none=True, load_default=None)
    milestones = fields.List(fields.Nested(HiredMilestone), required=True, validate=validate.Length(max=20))

    @validates_schema
    def _terms(self, data, **_):
        if data.get("type", "fixed") == "hourly":
            if data.get("hourly_rate") is None or data.get("weekly_limit_hours") is None or data.get("milestones"):
                raise ValidationError("An hourly hire has a rate, a weekly limit and no milestones.")
        elif not data.get("milestones"):
            raise ValidationError({"milestones": ["A fixed-price hire has at least one milestone."]})


EVENTS = {
    "jobs.job.posted": JobPosted,
    "jobs.proposal.submitted": ProposalSubmitted,
    "jobs.hire.requested": HireRequested,
}
