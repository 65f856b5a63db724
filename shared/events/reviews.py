"""Events produced by the reviews service."""
from marshmallow import fields

from shared.events.fields import EventSchema, Id


class ReviewSubmitted(EventSchema):
    review_id = Id(required=True)
    contract_id = Id(required=True)
    reviewer_id = Id(required=True)
    reviewee_id = Id(required=True)


class ReviewsPublished(EventSchema):
    contract_id = Id(required=True)
    review_ids = fields.List(Id(), required=True)


EVENTS = {
    "reviews.review.submitted": ReviewSubmitted,
    "reviews.reviews.published": ReviewsPublished,
}
