"""The messages HTTP API: rooms and their messages and files, notifications and their live stream, webhooks."""
from __future__ import annotations

import io
import time

import jwt
import sqlalchemy as sa
from flask import Response, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser

from services.messages import attachments, notifying, rooms, stream, webhooks
from services.messages.models import Delivery, Notification, Room, Webhook
from services.messages.schemas import (
    AttachmentOut, DeliveryPage, MarkedOut, MessageIn, MessageListArgs, MessageOut, MessagePage, NotificationListArgs,
    NotificationOut, NotificationPage, ReadIn, RoomListArgs, RoomOut, RoomPage, UnreadCountOut, WebhookCreatedOut,
    WebhookIn, WebhookOut, WebhookPage,
)
from shared.errors import Unprocessable
from shared.http import current_user, idempotent, paginate, require, runtime_of, unit_of_work
from shared.http.guard import raw_body
from shared.http.pagination import decode_cursor, encode_cursor
from shared.http.schemas import PageArgs

rooms_api = Blueprint("rooms", __name__, url_prefix="/rooms", description="Client–freelancer rooms, their messages and files")
notifications_api = Blueprint("notifications", __name__, url_prefix="/notifications",
                              description="What happened to you, listed and live")
webhooks_api = Blueprint("webhooks", __name__, url_prefix="/webhooks", description="Your notifications, POSTed to you")


@rooms_api.get("")
@require()
@rooms_api.arguments(RoomListArgs, location="query")
@rooms_api.response(200, RoomPage)
def list_rooms(args):
    """The caller's rooms (admins: any), newest activity first; by proposal or contract, 0 or 1."""
    user = current_user()
    query = rooms.listing(user, proposal_id=args.get("proposal_id"), contract_id=args.get("contract_id"))
    if args["cursor"]:
        at, id_ = decode_cursor(args["cursor"])
        query = query.where(sa.or_(Room.last_activity_at < at, sa.and_(Room.last_activity_at == at, Room.id < id_)))
    with unit_of_work(readonly=True) as uow:
        found = list(uow.session.scalars(query.order_by(Room.last_activity_at.desc(), Room.id.desc())
                                         .limit(args["limit"] + 1)))
        page = found[:args["limit"]]
        cursor = encode_cursor(page[-1].last_activity_at, page[-1].id) if len(found) > len(page) else None
        return {"items": [rooms.present(uow.session, room, user) for room in page], "next_cursor": cursor}


@rooms_api.get("/<uuid:room_id>")
@require()
@rooms_api.response(200, RoomOut)
def get_room(room_id):
    """A room, for its parties and admins."""
    user = current_user()
    with unit_of_work(readonly=True) as uow:
        return rooms.present(uow.session, rooms.visible(uow.session, str(room_id), user), user)


@rooms_api.get("/<uuid:room_id>/messages")
@require()
@rooms_api.arguments(MessageListArgs, location="query")
@rooms_api.response(200, MessagePage)
def list_messages(args, room_id):
    """The room's messages, oldest first (or `order=desc`), after a message already seen."""
    with unit_of_work(readonly=True) as uow:
        room = rooms.visible(uow.session, str(room_id), current_user())
        return rooms.messages(uow.session, room, order=args["order"], after=args["after"], limit=args["limit"])


@rooms_api.post("/<uuid:room_id>/messages")
@require()
@rooms_api.arguments(MessageIn)
@idempotent
@rooms_api.response(201, MessageOut)
def post_message(body, room_id, uow):
    """Write to the other party; the freelancer may once the client has, or after a hire."""
    return rooms.post(uow, room_id=str(room_id), user=current_user(), body=body["body"],
                      attachment_ids=body["attachment_ids"]), 201


@rooms_api.post("/<uuid:room_id>/read")
@require()
@rooms_api.arguments(ReadIn)
@rooms_api.response(200, RoomOut)
def mark_room_read(body, room_id):
    """Move the caller's read mark forward to a message of the room (never back)."""
    user = current_user()
    with unit_of_work() as uow:
        room = rooms.read(uow, room_id=str(room_id), user=user, message_id=body["message_id"])
        return rooms.present(uow.session, room, user)


@rooms_api.post("/<uuid:room_id>/attachments")
@require()
@rooms_api.response(201, AttachmentOut)
@rooms_api.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    parameters=[{"in": "query", "name": "filename", "schema": {"type": "string"},
                 "description": "The file's name, for a raw upload."}])
@raw_body
def upload(room_id):
    """Upload a file (at most 10 MiB) to attach to your next message: raw bytes with `?filename=`, or multipart."""
    name, type_, content = _uploaded()
    with unit_of_work() as uow:
        return attachments.upload(uow, room_id=str(room_id), user=current_user(), name=name, type_=type_,
                                  content=content), 201


@rooms_api.get("/<uuid:room_id>/attachments/<uuid:attachment_id>")
@require()
@rooms_api.doc(responses={200: {"description": "The file's bytes, as an attachment.",
                                "content": {"application/octet-stream": {}}}})
def download(room_id, attachment_id):
    """A file: the uploader's at once; once attached, the room's parties' and admins'."""
    with unit_of_work(readonly=True) as uow:
        found = attachments.downloadable(uow.session, room_id=str(room_id), attachment_id=str(attachment_id),
                                         user=current_user())
        return Response(found.content, headers=attachments.download_headers(found))


def _uploaded() -> tuple[str, str, bytes]:
    """The upload's name, type and bytes; past the limit: 413 after reading (and dropping) the rest."""
    multipart = request.mimetype == "multipart/form-data"
    limit = attachments.MAX_SIZE + (attachments.MULTIPART_MARGIN if multipart else 0)
    if (request.content_length or 0) > attachments.DRAIN_LIMIT:
        raise attachments.TooLarge("The file is larger than 10 MiB (10,485,760 bytes).")
    if not multipart:
        type_ = attachments.content_type(request.headers.get("Content-Type"))
        name = attachments.filename(request.args.get("filename"))
    body = _read(limit)
    if not multipart:
        return name, type_, body
    _, form, files = FormDataParser(max_content_length=limit).parse(
        io.BytesIO(body), request.mimetype, len(body), request.mimetype_params)
    part = files.get("file")
    if part is None:
        raise Unprocessable("Invalid fields: file", {"file": ["Send the file as the multipart part `file`."]})
    content = part.read()
    if len(content) > attachments.MAX_SIZE:
        raise attachments.TooLarge("The file is larger than 10 MiB (10,485,760 bytes).")
    return attachments.filename(part.filename), attachments.content_type(part.content_type), content


def _read(limit: int) -> bytes:
    request.max_content_length = attachments.DRAIN_LIMIT
    chunks, total = [], 0
    try:
        source = request.stream
        while chunk := source.read(64 * 1024):
            total += len(chunk)
            if total <= limit:
                chunks.append(chunk)
    except RequestEntityTooLarge:
        total = attachments.DRAIN_LIMIT + 1
    if total > limit:
        raise attachments.TooLarge("The file is larger than 10 MiB (10,485,760 bytes).")
    return b"".join(chunks)


@notifications_api.get("")
@require()
@notifications_api.arguments(NotificationListArgs, location="query")
@notifications_api.response(200, NotificationPage)
def list_notifications(args):
    """The caller's notifications, newest first; only the unread ones, or of one kind."""
    query = notifying.listing(current_user().id, unread=args["unread"], kind=args["kind"])
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, query, Notification, limit=args["limit"], cursor=args["cursor"])


@notifications_api.get("/unread-count")
@require()
@notifications_api.response(200, UnreadCountOut)
def unread_count():
    """How many of the caller's notifications are unread."""
    with unit_of_work(readonly=True) as uow:
        return {"unread_count": notifying.unread_count(uow.session, current_user().id)}


@notifications_api.post("/<uuid:notification_id>/read")
@require()
@notifications_api.response(200, NotificationOut)
def read_notification(notification_id):
    """Mark one of the caller's notifications read (again: the same `read_at`)."""
    with unit_of_work() as uow:
        return notifying.mark_read(uow, current_user().id, str(notification_id))


@notifications_api.post("/read-all")
@require()
@notifications_api.response(200, MarkedOut)
def read_all():
    """Mark every unread notification of the caller read."""
    with unit_of_work() as uow:
        return {"marked": notifying.mark_all_read(uow, current_user().id)}


@notifications_api.get("/stream")
@require()
@notifications_api.doc(responses={200: {"description": "Server-Sent Events: `id: <seq>`, `event: notification`, "
                                                      "`data: <Notification>`; `: keep-alive` comments.",
                                        "content": {"text/event-stream": {}}}},
                       parameters=[{"in": "header", "name": "Last-Event-ID", "schema": {"type": "integer"},
                                    "description": "Replay the notifications numbered after it first."}])
def live():
    """The caller's notifications as they are made, until the token expires (reconnect with `Last-Event-ID`)."""
    user = current_user()
    runtime = runtime_of()
    settings = runtime.service_settings
    token = request.headers["Authorization"].partition(" ")[2].strip()
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    ends_at = time.monotonic() + max(0.0, min(expires - time.time(), settings.sse_max_age.total_seconds()))
    body = stream.events(runtime, user.id, since=stream.last_event_id(request.headers.get("Last-Event-ID")),
                         ends_at=ends_at, heartbeat=settings.sse_heartbeat)
    return Response(body, mimetype="text/event-stream", headers={
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}, direct_passthrough=True)


@webhooks_api.post("")
@require()
@webhooks_api.arguments(WebhookIn)
@webhooks_api.response(201, WebhookCreatedOut)
def register(body):
    """Have your notifications of `events` POSTed to `url`, signed with the secret shown only here."""
    with unit_of_work() as uow:
        webhook, secret = webhooks.register(uow, user_id=current_user().id, url=body["url"], events=body["events"],
                                            known_kinds=notifying.KIND_NAMES)
        return {**WebhookOut().dump(webhook), "secret": secret}, 201


@webhooks_api.get("")
@require()
@webhooks_api.arguments(PageArgs, location="query")
@webhooks_api.response(200, WebhookPage)
def list_webhooks(args):
    """The caller's webhooks (never their secrets)."""
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, webhooks.listing(current_user().id), Webhook, limit=args["limit"],
                        cursor=args["cursor"])


@webhooks_api.get("/<uuid:webhook_id>")
@require()
@webhooks_api.response(200, WebhookOut)
def get_webhook(webhook_id):
    """One of the caller's webhooks."""
    with unit_of_work(readonly=True) as uow:
        return webhooks.owned(uow.session, current_user().id, str(webhook_id))


@webhooks_api.delete("/<uuid:webhook_id>")
@require()
@webhooks_api.response(204)
def delete_webhook(webhook_id):
    """Delete a webhook; its pending deliveries are dropped."""
    with unit_of_work() as uow:
        webhooks.delete(uow, current_user().id, str(webhook_id))


@webhooks_api.get("/<uuid:webhook_id>/deliveries")
@require()
@webhooks_api.arguments(PageArgs, location="query")
@webhooks_api.response(200, DeliveryPage)
def list_deliveries(args, webhook_id):
    """The webhook's deliveries, newest first, with every attempt."""
    user_id = current_user().id
    with unit_of_work(readonly=True) as uow:
        webhook = webhooks.owned(uow.session, user_id, str(webhook_id))
        return paginate(uow.session, webhooks.deliveries(webhook.id), Delivery, limit=args["limit"],
                        cursor=args["cursor"])
