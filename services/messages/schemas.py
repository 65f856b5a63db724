"""Request and response bodies of the messages API."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from services.messages.states import DELIVERY_STATES, ROOM_STATES
from shared.http.schemas import Id, InSchema, OutSchema, PageArgs, String, Timestamp, page_of


def _not_blank(text: str) -> None:
    if not text.strip():
        raise ValidationError("Must not be blank.")


class RoomListArgs(PageArgs):
    proposal_id = Id(metadata={"description": "The room of this proposal (0 or 1)."})
    contract_id = Id(metadata={"description": "The room this contract was ever linked to (0 or 1)."})


class MessageListArgs(PageArgs):
    order = String(load_default="asc", validate=validate.OneOf(["asc", "desc"]),
                   metadata={"description": "asc: oldest first (the default); desc: newest first."})
    after = Id(load_default=None, metadata={"description": "Start after this message of the room, in `order`: "
                                                           "poll with the last id seen."})


class MessageIn(InSchema):
    body = String(required=True, validate=[validate.Length(min=1, max=5000), _not_blank])
    attachment_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=10),
                                 metadata={"description": "Your unattached uploads to this room."})


class ReadIn(InSchema):
    message_id = Id(required=True)


class AttachmentOut(OutSchema):
    id = fields.String()
    room_id = fields.String()
    uploader_id = fields.String()
    message_id = fields.String(allow_none=True)
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String(metadata={"description": "Hex SHA-256 of the bytes."})
    created_at = Timestamp()


class MessageOut(OutSchema):
    id = fields.String()
    room_id = fields.String()
    seq = fields.Integer(metadata={"description": "1, 2, 3 … in the room, in commit order."})
    sender_id = fields.String()
    body = fields.String()
    attachments = fields.List(fields.Nested(AttachmentOut))
    created_at = Timestamp()


class RoomOut(OutSchema):
    id = fields.String()
    proposal_id = fields.String()
    job_id = fields.String()
    job_title = fields.String()
    contract_id = fields.String(allow_none=True, metadata={"description": "The newest hire's contract."})
    client_id = fields.String()
    freelancer_id = fields.String()
    status = fields.String(metadata={"enum": list(ROOM_STATES)})
    read_only_reason = fields.String(allow_none=True)
    created_at = Timestamp()
    last_activity_at = Timestamp()
    last_message = fields.Nested(MessageOut, allow_none=True)
    unread_count = fields.Integer(metadata={
        "description": "The other party's messages after your read mark (0 for admins, who have none)."})
    read_up_to = fields.String(allow_none=True, metadata={"description": "Your read mark: a message id."})


RoomPage = page_of(RoomOut)
MessagePage = page_of(MessageOut)


class NotificationListArgs(PageArgs):
    unread = fields.Boolean(load_default=False)
    kind = String(load_default=None, validate=validate.Length(max=40))


class NotificationOut(OutSchema):
    id = fields.String()
    seq = fields.Integer(metadata={"description": "1, 2, 3 … per user, in commit order: the stream's event id."})
    kind = fields.String()
    text = fields.String()
    resource = fields.String(metadata={"description": "The API path it is about."})
    data = fields.Dict()
    created_at = Timestamp()
    read_at = Timestamp(allow_none=True)


NotificationPage = page_of(NotificationOut)


class UnreadCountOut(OutSchema):
    unread_count = fields.Integer()


class MarkedOut(OutSchema):
    marked = fields.Integer()


class WebhookIn(InSchema):
    url = String(required=True, validate=validate.Length(min=1, max=2048))
    events = fields.List(String(validate=validate.Length(min=1, max=40)), required=True,
                         validate=validate.Length(min=1, max=50),
                         metadata={"description": "Notification kinds, or [\"*\"] for all."})


class WebhookOut(OutSchema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    created_at = Timestamp()


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(metadata={"description": "Signs every delivery; shown only in this response."})


WebhookPage = page_of(WebhookOut)


class AttemptOut(OutSchema):
    at = fields.String()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class DeliveryOut(OutSchema):
    id = fields.String()
    webhook_id = fields.String()
    notification_id = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"enum": list(DELIVERY_STATES)})
    attempts = fields.List(fields.Nested(AttemptOut))
    next_attempt_at = Timestamp(allow_none=True)
    created_at = Timestamp()
    delivered_at = Timestamp(allow_none=True)


DeliveryPage = page_of(DeliveryOut)
