"""Events produced by the users service."""
from marshmallow import fields

from shared.events.fields import EventSchema, Id


class UserRegistered(EventSchema):
    user_id = Id(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)


class UserSuspended(EventSchema):
    user_id = Id(required=True)
    reason = fields.String(required=True)


EVENTS = {
    "users.user.registered": UserRegistered,
    "users.user.suspended": UserSuspended,
}
