"""Events produced by the messages service (never a message's body)."""
from marshmallow import fields

from shared.events.fields import EventSchema, Id, String


class RoomOpened(EventSchema):
    room_id = Id(required=True)
    proposal_id = Id(required=True)
    job_id = Id(required=True)
    client_id = Id(required=True)
    freelancer_id = Id(required=True)


class RoomMadeReadOnly(EventSchema):
    room_id = Id(required=True)
    reason = String(required=True)


class RoomReopened(EventSchema):
    room_id = Id(required=True)
    status = String(required=True)


class MessagePosted(EventSchema):
    message_id = Id(required=True)
    room_id = Id(required=True)
    seq = fields.Integer(required=True, strict=True)
    sender_id = Id(required=True)
    recipient_id = Id(required=True)
    proposal_id = Id(required=True)
    contract_id = Id(allow_none=True, load_default=None)
    attachment_ids = fields.List(Id(), required=True)


class WebhookDeliveryFailed(EventSchema):
    webhook_id = Id(required=True)
    delivery_id = Id(required=True)
    user_id = Id(required=True)
    notification_id = Id(required=True)
    kind = String(required=True)
    attempts = fields.Integer(required=True, strict=True)


EVENTS = {
    "messages.room.opened": RoomOpened,
    "messages.room.made_read_only": RoomMadeReadOnly,
    "messages.room.reopened": RoomReopened,
    "messages.message.posted": MessagePosted,
    "messages.webhook.delivery_failed": WebhookDeliveryFailed,
}
