"""The rules of rooms: one per proposal, opened by the client, linked to its contracts, read-only on a
party's suspension; messages numbered in commit order; read marks and unread counts."""
from __future__ import annotations

import sqlalchemy as sa

from services.messages import notifying
from services.messages.models import Attachment, Message, ReadMark, Room, RoomContract
from services.messages.states import ROOM
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound, NotReady, Unprocessable
from shared.ids import new_id
from shared.suspensions import listed

PARTY_SUSPENDED = "party_suspended"
NO_ROOM = "No such room among yours."


def open_for_proposal(uow, *, proposal_id: str, job_id: str, job_title: str, client_id: str,
                      freelancer_id: str) -> Room:
    """The proposal's room, made once; read-only from the start if a party is already suspended."""
    room = uow.session.scalar(sa.select(Room).where(Room.proposal_id == proposal_id))
    if room is not None:
        return room
    now = utcnow()
    room = Room(id=new_id(), proposal_id=proposal_id, job_id=job_id, job_title=job_title, client_id=client_id,
                freelancer_id=freelancer_id, status="awaiting_client", last_seq=0, created_at=now,
                last_activity_at=now)
    uow.session.add(room)
    uow.session.flush()
    uow.emit("messages.room.opened", {"room_id": room.id, "proposal_id": proposal_id, "job_id": job_id,
                                      "client_id": client_id, "freelancer_id": freelancer_id},
             correlation_id=room.correlation_id)
    if listed(uow.session, client_id) or listed(uow.session, freelancer_id):
        make_read_only(uow, room, PARTY_SUSPENDED)
    return room


def link_contract(uow, *, proposal_id: str, contract_id: str, opens: bool) -> Room:
    """The proposal's room learns its contract (the newest hire's wins); a hire also opens it."""
    room = _locked(uow, sa.select(Room).where(Room.proposal_id == proposal_id))
    if room is None:
        raise NotReady(f"no room yet for proposal {proposal_id}")
    if uow.session.get(RoomContract, contract_id) is None:
        uow.session.add(RoomContract(contract_id=contract_id, room_id=room.id))
        room.contract_id = contract_id
    if opens and room.status == "awaiting_client":
        ROOM.apply(room, "open")
    return room


def make_read_only(uow, room: Room, reason: str) -> None:
    if room.status == "read_only":
        return
    ROOM.apply(room, "read_only")
    room.read_only_reason = reason
    uow.emit("messages.room.made_read_only", {"room_id": room.id, "reason": reason},
             correlation_id=room.correlation_id)


def party_suspended(uow, user_id: str) -> None:
    """Every room of a suspended user can no longer be written to (rooms made later start read-only)."""
    rooms = uow.session.scalars(uow.for_update(sa.select(Room).where(
        sa.or_(Room.client_id == user_id, Room.freelancer_id == user_id), Room.status != "read_only")))
    for room in rooms:
        make_read_only(uow, room, PARTY_SUSPENDED)


def party_reinstated(uow, user_id: str) -> None:
    """A reinstated user's rooms closed for a suspension reopen, unless the other party is still
    suspended: as they were, `open` once the client has written or hired, else `awaiting_client`."""
    rooms = uow.session.scalars(uow.for_update(sa.select(Room).where(
        sa.or_(Room.client_id == user_id, Room.freelancer_id == user_id), Room.status == "read_only",
        Room.read_only_reason == PARTY_SUSPENDED)))
    for room in rooms:
        other = room.freelancer_id if room.client_id == user_id else room.client_id
        if listed(uow.session, user_id) or listed(uow.session, other):
            continue
        client_wrote = uow.session.scalar(sa.select(sa.literal(True)).where(
            Message.room_id == room.id, Message.sender_id == room.client_id).limit(1))
        ROOM.apply(room, "open" if room.contract_id or client_wrote else "awaiting_client")
        room.read_only_reason = None
        uow.emit("messages.room.reopened", {"room_id": room.id, "status": room.status},
                 correlation_id=room.correlation_id)


def visible(session, room_id: str, user) -> Room:
    """The room for its parties and admins; anyone else is told it does not exist."""
    room = session.get(Room, room_id)
    if room is None or not (room.is_party(user.id) or user.has("admin")):
        raise NotFound(NO_ROOM)
    return room


def writable_by(uow, room_id: str, user) -> Room:
    """The room, locked, for a party that may write to it now: 403 for admins, 409 when it is closed to them."""
    room = _locked(uow, sa.select(Room).where(Room.id == room_id))
    if room is None or not (room.is_party(user.id) or user.has("admin")):
        raise NotFound(NO_ROOM)
    if not room.is_party(user.id):
        raise Forbidden("Admins may read rooms but not write to them.")
    if room.status == "read_only":
        raise Conflict("This room is read-only: a party's account is suspended.", state=room.status)
    if room.status == "awaiting_client" and user.id == room.freelancer_id:
        raise Conflict("The client writes first in this room; you may reply once they have.", state=room.status)
    return room


def post(uow, *, room_id: str, user, body: str, attachment_ids: list[str]) -> Message:
    """A message in the room, numbered after the last one; the first one of the client opens the room."""
    # Ordering: the room's row is locked, so sequence numbers follow commit order with no gap.
    room = writable_by(uow, room_id, user)
    attachments = _unattached(uow.session, room, user.id, attachment_ids)
    now = utcnow()
    room.last_seq += 1
    message = Message(id=new_id(), room_id=room.id, seq=room.last_seq, sender_id=user.id, body=body, created_at=now)
    uow.session.add(message)
    uow.session.flush()
    for attachment in attachments:
        attachment.message_id = message.id
    if room.status == "awaiting_client":
        ROOM.apply(room, "open")
    room.last_message_id, room.last_activity_at = message.id, now
    _mark(uow.session, room, user.id, message)
    recipient = room.other_party(user.id)
    data = {"message_id": message.id, "room_id": room.id, "seq": message.seq, "sender_id": user.id,
            "recipient_id": recipient, "proposal_id": room.proposal_id, "contract_id": room.contract_id,
            "attachment_ids": [attachment.id for attachment in attachments]}
    uow.emit("messages.message.posted", data, correlation_id=room.correlation_id)
    notifying.message_received(uow, room, recipient, data)
    return message


def _unattached(session, room: Room, user_id: str, ids: list[str]) -> list[Attachment]:
    if len(set(ids)) != len(ids):
        raise Unprocessable("Invalid fields: attachment_ids", {"attachment_ids": ["An upload is listed twice."]})
    found = {attachment.id: attachment for attachment in session.scalars(sa.select(Attachment).where(
        Attachment.id.in_(ids), Attachment.room_id == room.id, Attachment.uploader_id == user_id,
        Attachment.message_id.is_(None)))} if ids else {}
    missing = [id_ for id_ in ids if id_ not in found]
    if missing:
        raise Unprocessable("Invalid fields: attachment_ids", {"attachment_ids": [
            f"{', '.join(missing)}: not an unattached upload of yours in this room."]})
    return [found[id_] for id_ in ids]


def read(uow, *, room_id: str, user, message_id: str) -> Room:
    """Move the caller's read mark forward to `message_id` (never back)."""
    room = visible(uow.session, room_id, user)
    if not room.is_party(user.id):
        raise Forbidden("Admins may read rooms but not mark them read.")
    message = uow.session.get(Message, message_id)
    if message is None or message.room_id != room.id:
        raise Unprocessable("Invalid fields: message_id", {"message_id": ["Not a message of this room."]})
    _mark(uow.session, room, user.id, message)
    return room


def _mark(session, room: Room, user_id: str, message: Message) -> None:
    mark = session.get(ReadMark, (room.id, user_id))
    if mark is None:
        session.add(ReadMark(room_id=room.id, user_id=user_id, message_id=message.id, seq=message.seq))
    elif message.seq > mark.seq:
        mark.message_id, mark.seq = message.id, message.seq


def read_seq(session, room_id: str, user_id: str) -> int:
    mark = session.get(ReadMark, (room_id, user_id))
    return mark.seq if mark else 0


def listing(user, *, proposal_id: str | None = None, contract_id: str | None = None):
    """The caller's rooms (admins: any), optionally the one of a proposal or of a contract ever linked."""
    query = sa.select(Room)
    if not user.has("admin"):
        query = query.where(sa.or_(Room.client_id == user.id, Room.freelancer_id == user.id))
    if proposal_id is not None:
        query = query.where(Room.proposal_id == proposal_id)
    if contract_id is not None:
        query = query.where(Room.id.in_(sa.select(RoomContract.room_id).where(RoomContract.contract_id == contract_id)))
    return query


def messages(session, room: Room, *, order: str, after: str | None, limit: int) -> dict:
    """A page of the room's messages in `order`, starting after message `after` (of this room)."""
    query = sa.select(Message).where(Message.room_id == room.id)
    if after is not None:
        start = session.get(Message, after)
        if start is None or start.room_id != room.id:
            raise Unprocessable("Invalid fields: after", {"after": ["Not a message of this room."]})
        query = query.where(Message.seq > start.seq if order == "asc" else Message.seq < start.seq)
    query = query.order_by(Message.seq.asc() if order == "asc" else Message.seq.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": rows[-1].id if more else None}


def _locked(uow, query) -> Room | None:
    return uow.session.scalar(uow.for_update(query))


def present(session, room: Room, user) -> dict:
    """The room as the caller sees it: their read mark and how many of the other party's messages follow it."""
    last = session.get(Message, room.last_message_id) if room.last_message_id else None
    if room.is_party(user.id):
        mark = session.get(ReadMark, (room.id, user.id))
        read_up_to, seq = (mark.message_id, mark.seq) if mark else (None, 0)
        unread = session.scalar(sa.select(sa.func.count()).select_from(Message).where(
            Message.room_id == room.id, Message.seq > seq, Message.sender_id != user.id))
    else:  # admins read without a mark of their own
        read_up_to, unread = None, 0
    return {**{column: getattr(room, column) for column in (
        "id", "proposal_id", "job_id", "job_title", "contract_id", "client_id", "freelancer_id", "status",
        "read_only_reason", "created_at", "last_activity_at")},
        "last_message": last, "unread_count": unread, "read_up_to": read_up_to}
