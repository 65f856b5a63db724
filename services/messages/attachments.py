"""Attachments: files up to 10 MiB kept in this database, of allowed types only, named safely; the
uploader sees one at once, the room's parties and admins once it is attached to a message."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import timedelta
from urllib.parse import quote

import sqlalchemy as sa

from services.messages import rooms
from services.messages.models import Attachment, Room
from shared.db import utcnow
from shared.errors import Conflict, DomainError, NotFound, Unprocessable
from shared.ids import new_id

MAX_SIZE = 10 * 1024 * 1024
MULTIPART_MARGIN = 64 * 1024
DRAIN_LIMIT = 64 * 1024 * 1024
MAX_UNATTACHED = 20
UNATTACHED_KEPT_FOR = timedelta(hours=24)
ALLOWED = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "application/json",
                     "application/zip", "application/octet-stream", "text/plain", "text/csv"})
ALLOWED_PREFIXES = ("application/vnd.openxmlformats-officedocument.",)
_TOKEN = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")


class TooLarge(DomainError):
    status, title = 413, "Content Too Large"


class UnsupportedType(DomainError):
    status, title = 415, "Unsupported Media Type"


def content_type(header: str | None) -> str:
    """The type as uploaded (its parameters kept), if its media type is allowed; never sniffed."""
    header = (header or "").strip()
    media = header.split(";", 1)[0].strip().lower()
    if not _TOKEN.match(media) or not header.isascii() or not header.isprintable():
        raise UnsupportedType("Give the file's Content-Type.")
    if media not in ALLOWED and not media.startswith(ALLOWED_PREFIXES):
        raise UnsupportedType(f"Files of type {media} are not accepted.")
    return header


def filename(name: str | None) -> str:
    """1..255 characters, no `/`, `\\` or control characters."""
    problem = None
    if not name:
        problem = "Give the file's name."
    elif len(name) > 255:
        problem = "At most 255 characters."
    elif "/" in name or "\\" in name or any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name):
        problem = "No /, \\ or control characters."
    elif name.strip(" .") == "":
        problem = "Not a file name."
    if problem:
        raise Unprocessable("Invalid fields: filename", {"filename": [problem]})
    return name  # type: ignore[return-value]


def upload(uow, *, room_id: str, user, name: str, type_: str, content: bytes) -> Attachment:
    """Keep an unattached upload of a party who may write to the room now (at most 20 pending)."""
    room = rooms.writable_by(uow, room_id, user)
    pending = uow.session.scalar(sa.select(sa.func.count()).select_from(Attachment).where(
        Attachment.uploader_id == user.id, Attachment.message_id.is_(None)))
    if pending >= MAX_UNATTACHED:
        raise Conflict(f"You have {MAX_UNATTACHED} uploads not attached to any message; send or wait for them to expire.")
    attachment = Attachment(id=new_id(), room_id=room.id, uploader_id=user.id, message_id=None, filename=name,
                            content_type=type_, size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                            content=content, created_at=utcnow())
    uow.session.add(attachment)
    uow.session.flush()
    return attachment


def downloadable(session, *, room_id: str, attachment_id: str, user) -> Attachment:
    """The uploader's own file; once attached, the room's parties' and admins'; else no such file."""
    attachment = session.get(Attachment, attachment_id)
    room = session.get(Room, room_id)
    if attachment is None or room is None or attachment.room_id != room.id:
        raise NotFound("No such file.")
    if attachment.uploader_id == user.id:
        return attachment
    if attachment.message_id is None or not (room.is_party(user.id) or user.has("admin")):
        raise NotFound("No such file.")
    return attachment


def download_headers(attachment: Attachment) -> dict[str, str]:
    """Headers that make every browser save the file, never render or sniff it."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in attachment.filename)
    return {"Content-Type": attachment.content_type, "Content-Length": str(attachment.size),
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.filename, safe='')}",
            "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox"}

