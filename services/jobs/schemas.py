"""Request and response bodies of the jobs API."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import ValidationError, fields, pre_load, validate, validates, validates_schema

from services.jobs.postings import budget_errors
from services.jobs.states import JOB_STATUSES, PROPOSAL_STATUSES
from shared.http.schemas import Currency, Day, Id, InSchema, Integer, Money, OutSchema, PageArgs, String, Timestamp, page_of

BUDGET_TYPES = ("fixed", "hourly")
MAX_AMOUNT = 1_000_000_000
MIN_AMOUNT = 500
MIN_RATE, MAX_RATE = 100, 1_000_000
MAX_WEEKLY_LIMIT_HOURS = 80


def Text(**kwargs) -> String:
    """A string with surrounding white space removed before it is validated."""
    return String(strip=True, **kwargs)


def Skills(**kwargs) -> fields.List:
    # A skill's key is its lower-cased text, kept in a column as long as the skill's.
    return fields.List(String(strip=True, folded=True, validate=validate.Length(min=1, max=50)),
                       validate=validate.Length(max=20), **kwargs)


class JobFields(InSchema):
    title = Text(validate=validate.Length(min=5, max=200))
    description = Text(validate=validate.Length(min=1, max=20000))
    skills = Skills()
    budget_type = String(validate=validate.OneOf(BUDGET_TYPES))
    budget_amount = Money(maximum=MAX_AMOUNT, allow_none=True)
    hourly_rate_max = Money(minimum=1, maximum=MAX_AMOUNT, allow_none=True)


class JobIn(JobFields):
    title = Text(required=True, validate=validate.Length(min=5, max=200))
    description = Text(required=True, validate=validate.Length(min=1, max=20000))
    skills = Skills(load_default=list)
    budget_type = String(required=True, validate=validate.OneOf(BUDGET_TYPES))
    budget_amount = Money(maximum=MAX_AMOUNT, allow_none=True, load_default=None)
    hourly_rate_max = Money(minimum=1, maximum=MAX_AMOUNT, allow_none=True, load_default=None)

    @validates_schema(skip_on_field_errors=True)
    def _budget(self, data, **_):
        errors = budget_errors(data["budget_type"], data["budget_amount"], data["hourly_rate_max"])
        if errors:
            raise ValidationError(errors)


class JobPatchIn(JobFields):
    """Fields given replace the job's; the budget is checked again as a whole."""


class JobSearchArgs(PageArgs):
    q = String(validate=validate.Length(min=1, max=200))
    skill = String(strip=True, folded=True, validate=validate.Length(min=1, max=50))
    status = String(load_default="open", validate=validate.OneOf(JOB_STATUSES + ("any",)),
                           metadata={"description": "open (default), filled, closed, or any"})
    client_id = Id()
    budget_type = String(validate=validate.OneOf(BUDGET_TYPES))
    min_budget = Integer(strict=False, minimum=0,
                         metadata={"description": "cents; an hourly job's budget is its hourly_rate_max"})
    max_budget = Integer(strict=False, minimum=0)

    @pre_load
    def _blank_is_absent(self, data, **_):
        """`?q=&skill=` as a form sends it means no such filter."""
        return {name: value for name, value in data.items() if value != ""}

    @validates_schema(skip_on_field_errors=True)
    def _range(self, data, **_):
        if data.get("min_budget") is not None and data.get("max_budget") is not None \
                and data["min_budget"] > data["max_budget"]:
            raise ValidationError({"max_budget": ["Must not be below min_budget."]})


class ProposalIn(InSchema):
    cover_letter = Text(required=True, validate=validate.Length(min=1, max=5000))
    amount = Money(minimum=MIN_AMOUNT, maximum=MAX_AMOUNT, allow_none=True, load_default=None,
                   metadata={"description": "fixed-price jobs (required there); null on an hourly job"})
    rate = Money(minimum=MIN_RATE, maximum=MAX_RATE, allow_none=True, load_default=None,
                 metadata={"description": "hourly jobs (required there): cents an hour"})

    @validates_schema(skip_on_field_errors=True)
    def _priced(self, data, **_):
        """A proposal names its price before anyone looks the job up (which of the two: proposals.py)."""
        if data["amount"] is None and data["rate"] is None:
            raise ValidationError({"amount": ["Required on a fixed-price job."],
                                   "rate": ["Required on an hourly job."]})
    estimated_days = Integer(minimum=1, maximum=3650, allow_none=True, load_default=None)


class ProposalListArgs(PageArgs):
    status = String(validate=validate.OneOf(PROPOSAL_STATUSES))


class MilestoneIn(InSchema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    amount = Money(minimum=MIN_AMOUNT, maximum=MAX_AMOUNT, required=True)
    due_date = Day(allow_none=True, load_default=None)

    @validates("due_date")
    def _not_past(self, value, **_):
        if value is not None and value < datetime.now(timezone.utc).date():
            raise ValidationError("Must not be in the past.")


class HireIn(InSchema):
    milestones = fields.List(fields.Nested(MilestoneIn), validate=validate.Length(min=1, max=20), load_default=None,
                             metadata={"description": 'fixed-price: default one milestone "Complete the project" '
                                                      "for the proposal's amount; refused on an hourly job"})
    weekly_limit_hours = Integer(minimum=1, maximum=MAX_WEEKLY_LIMIT_HOURS, allow_none=True, load_default=None,
                                 metadata={"description": "hourly jobs (required there): hours billable a week"})


class JobOut(OutSchema):
    id = fields.String()
    client_id = fields.String()
    title = fields.String()
    description = fields.String()
    skills = fields.List(fields.String())
    budget_type = fields.String()
    budget_amount = Money(allow_none=True)
    hourly_rate_max = Money(allow_none=True)
    currency = Currency()
    status = fields.String()
    proposals_count = fields.Integer()
    created_at = Timestamp()


class ProposalOut(OutSchema):
    id = fields.String()
    job_id = fields.String()
    freelancer_id = fields.String()
    cover_letter = fields.String()
    amount = Money(allow_none=True)
    rate = Money(allow_none=True)
    currency = Currency()
    estimated_days = fields.Integer(allow_none=True)
    status = fields.String()
    contract_id = fields.String(allow_none=True)
    created_at = Timestamp()


JobPage = page_of(JobOut)
ProposalPage = page_of(ProposalOut)
