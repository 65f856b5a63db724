"""`Idempotency-Key`: the same key and body within 24 h replays the first response."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Response, current_app, make_response, request

from shared.db import utcnow
from shared.errors import Conflict, DomainError, Unprocessable
from shared.http.auth import current_user
from shared.http.problems import from_domain_error
from shared.tables import IdempotencyRow

KEPT_FOR = timedelta(hours=24)
# A claim whose request never finished (its process died) stops blocking retries after this.
ABANDONED_AFTER = timedelta(seconds=60)
REPLAYED_HEADERS = ("Location", "Content-Type")


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def idempotent(view):
    """Honour `Idempotency-Key` on a POST; place it between `@blp.arguments` and `@blp.response`."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise Unprocessable("Invalid fields: Idempotency-Key",
                                {"Idempotency-Key": ["Must be 1 to 255 characters."]})
        db = current_app.extensions["runtime"].db
        scope = _digest(current_user().id, request.method, request.path, key)
        # Privacy: the body (a card number, say) is hashed with the client's key, which is stored
        # only inside `scope`'s hash, so the stored fingerprint cannot be brute-forced back.
        fingerprint = _digest(key, request.get_data())
        replay = _claim(db, scope, fingerprint)
        if replay is not None:
            return replay
        try:
            response = make_response(view(*args, **kwargs))
        except DomainError as error:
            response = from_domain_error(error)
        except BaseException:
            _forget(db, scope)
            raise
        if response.status_code >= 500:
            _forget(db, scope)
        else:
            _keep(db, scope, response)
        return response

    return wrapper


def _claim(db, scope: str, fingerprint: str) -> Response | None:
    try:
        with db.transaction() as session:
            row = session.get(IdempotencyRow, scope)
            if row is not None and (row.created_at < utcnow() - KEPT_FOR or (
                    row.status_code is None and row.created_at < utcnow() - ABANDONED_AFTER)):
                session.delete(row)
                session.flush()
                row = None
            if row is None:
                session.add(IdempotencyRow(scope=scope, request_hash=fingerprint, headers={}, created_at=utcnow()))
                return None
            if row.request_hash != fingerprint:
                raise Unprocessable("This Idempotency-Key was used with a different request body.",
                                    {"Idempotency-Key": ["Already used with a different body."]})
            if row.status_code is None:
                raise Conflict("A request with this Idempotency-Key is still being processed.")
            return Response(row.body, status=row.status_code, headers={**row.headers, "Idempotent-Replayed": "true"})
    except sa.exc.IntegrityError:
        raise Conflict("A request with this Idempotency-Key is still being processed.") from None


def _keep(db, scope: str, response: Response) -> None:
    with db.transaction() as session:
        session.execute(sa.update(IdempotencyRow).where(IdempotencyRow.scope == scope).values(
            status_code=response.status_code, body=response.get_data(as_text=True),
            headers={name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}))


def _forget(db, scope: str) -> None:
    with db.transaction() as session:
        session.execute(sa.delete(IdempotencyRow).where(IdempotencyRow.scope == scope))
