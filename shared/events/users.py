"""Events produced by the users service."""
from marshmallow import fields

from shared.events.fields import EventSchema, Id, String, Timestamp

# The two events every service follows (the kit keeps its set of suspended accounts by them).
SUSPENDED = "users.user.suspended"
REINSTATED = "users.user.reinstated"


class UserRegistered(EventSchema):
    user_id = Id(required=True)
    email = String(required=True)
    name = String(required=True)
    roles = fields.List(String(), required=True)


class UserSuspended(EventSchema):
    user_id = Id(required=True)
    reason = String(required=True)


class UserReinstated(EventSchema):
    user_id = Id(required=True)
    reinstated_at = Timestamp(required=True)


EVENTS = {
    "users.user.registered": UserRegistered,
    SUSPENDED: UserSuspended,
    REINSTATED: UserReinstated,
}
