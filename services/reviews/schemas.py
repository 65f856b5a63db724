"""Request and response bodies of the reviews API."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.reviews.states import REVIEW_STATES
from shared.http.schemas import Id, InSchema, Integer, OutSchema, PageArgs, String, Timestamp, page_of


class Rating(Integer):
    """A whole number of stars: 4.5, "5" and true are refused, not coerced."""

    def __init__(self, **kwargs):
        super().__init__(minimum=1, maximum=5, **kwargs)


class ReviewIn(InSchema):
    contract_id = Id(required=True)
    rating = Rating(required=True, metadata={"description": "1 to 5 stars, an integer."})
    comment = String(load_default="", validate=validate.Length(max=5000))


class ReviewListArgs(PageArgs):
    user_id = Id(metadata={"description": "Published reviews about this user; anyone may ask."})
    contract_id = Id(metadata={"description": "This contract's reviews, for its parties: "
                                              "the caller's own, and the other party's once published."})

    @validates_schema
    def _exactly_one(self, data, **_):
        if ("user_id" in data) == ("contract_id" in data):
            message = ["Give exactly one of user_id and contract_id."]
            raise ValidationError({"user_id": message, "contract_id": message})


class ReviewOut(OutSchema):
    id = fields.String()
    contract_id = fields.String()
    reviewer_id = fields.String()
    reviewee_id = fields.String()
    rating = fields.Integer()
    comment = fields.String()
    status = fields.String(metadata={"enum": list(REVIEW_STATES),
                                     "description": "hidden until the other party has reviewed too, "
                                                    "or the review window closes."})
    created_at = Timestamp()
    published_at = Timestamp(allow_none=True)


ReviewPage = page_of(ReviewOut)


class SummaryOut(OutSchema):
    user_id = fields.String()
    average_rating = fields.Float(allow_none=True, metadata={
        "description": "Mean rating of the published reviews about the user, rounded half up to 2 decimals; "
                       "null when there are none."})
    review_count = fields.Integer(metadata={"description": "How many published reviews are about the user."})
