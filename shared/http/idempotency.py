"""`Idempotency-Key`: the same key and body within 24 h replays the first response."""
from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Response, current_app, g, make_response, request

from shared.db import utcnow
from shared.errors import Conflict, DomainError, Unprocessable
from shared.http.auth import current_user
from shared.http.problems import from_domain_error
from shared.ids import new_id
from shared.tables import IdempotencyRow

KEPT_FOR = timedelta(hours=24)
_CALL_KEYS = uuid.UUID("5f0e4c2a-7f55-4d4e-9b8e-0c6a1d2b3e41")  # namespace of the outside calls' keys
REPLAYED_HEADERS = ("Location", "Content-Type")


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def idempotent(view=None, *, outside=None):
    """Honour `Idempotency-Key` on a POST; place it between `@blp.arguments` and `@blp.response`.

    `@idempotent(outside=call)`: the view's slow outside call (a card charge) runs first, outside any
    transaction, as `call(call_key, *args, **kwargs)`, and its answer reaches the view as `prepared=`.
    `call_key` is the outside party's idempotency key: derived from the request's `Idempotency-Key`
    (the same on every retry, so a retry after a 5xx is answered with the first call's outcome, never
    a second charge), or a fresh id without one. It is not called when the key's answer is kept.

    The view is called with its unit of work as `uow=` and does all its work in it (it opens none of
    its own). Under a key, the key's row, the view's work and the response kept for the key commit in
    that one transaction: a process that dies after the work committed has also kept the answer, so a
    retry replays it and never does the work again. A refusal (a `DomainError`) undoes the view's work
    and is kept as the answer; a 5xx keeps nothing, so a retry does the work afresh.
    """

    if view is None:
        return lambda view: idempotent(view, outside=outside)

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 1 <= len(key) <= 255:
            raise Unprocessable("Invalid fields: Idempotency-Key",
                                {"Idempotency-Key": ["Must be 1 to 255 characters."]})
        runtime = current_app.extensions["runtime"]
        if outside is not None and (key is None or not _answered(runtime, key)):
            # Locking: before any transaction, so the outside call holds no lock while it waits.
            call_key = new_id() if key is None else str(uuid.uuid5(_CALL_KEYS, _scope(key)))
            kwargs["prepared"] = outside(call_key, *args, **kwargs)
        g.given_uow = True
        try:
            if key is None:
                with runtime.unit_of_work() as uow:
                    return view(*args, uow=uow, **kwargs)
            return _once(runtime, key, lambda uow: view(*args, uow=uow, **kwargs))
        finally:
            g.pop("given_uow", None)

    return wrapper


def _scope(key: str) -> str:
    return _digest(current_user().id, request.method, request.path, key)


def _fingerprint(key: str) -> str:
    # Privacy: the body (a card number, say) is hashed with the client's key, which is stored
    # only inside `scope`'s hash, so the stored fingerprint cannot be brute-forced back.
    return _digest(key, request.get_data())


def _answered(runtime, key: str) -> bool:
    """Whether this key's answer is kept, so the request will be replayed (or refused) without its work."""
    with runtime.db.reading() as session:
        row = session.get(IdempotencyRow, _scope(key))
        return row is not None and row.created_at >= utcnow() - KEPT_FOR and (
            row.status_code is not None or row.request_hash != _fingerprint(key))


def _once(runtime, key: str, view) -> Response:
    scope, fingerprint = _scope(key), _fingerprint(key)
    try:
        with runtime.unit_of_work() as uow:
            replay = _claim(uow.session, scope, fingerprint)
            if replay is not None:
                return replay
            try:
                with uow.savepoint():
                    response = make_response(view(uow))
            except DomainError as error:
                response = from_domain_error(error)
            if response.status_code >= 500:
                raise _NotKept(response)
            _keep(uow.session, scope, response)
    except _NotKept as failed:
        return failed.response
    return response


class _NotKept(Exception):
    """A 5xx: nothing the request did is kept, so a retry does the work afresh."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def _claim(session, scope: str, fingerprint: str) -> Response | None:
    row = session.get(IdempotencyRow, scope)
    if row is not None and row.created_at < utcnow() - KEPT_FOR:
        session.delete(row)
        session.flush()
        row = None
    if row is None:
        try:
            with session.begin_nested():
                if session.get_bind().dialect.name == "postgresql":
                    # A request with this key still running holds its uncommitted row: answer 409 at
                    # once rather than wait for it (only for this insert; the view may wait on locks).
                    session.execute(sa.text("SET LOCAL lock_timeout = '100ms'"))
                session.add(IdempotencyRow(scope=scope, request_hash=fingerprint, headers={}, created_at=utcnow()))
                session.flush()
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(sa.text("SET LOCAL lock_timeout TO DEFAULT"))
            return None
        except (sa.exc.IntegrityError, sa.exc.OperationalError):
            row = session.get(IdempotencyRow, scope, populate_existing=True)
            if row is None:
                raise Conflict("A request with this Idempotency-Key is still being processed.") from None
    if row.request_hash != fingerprint:
        raise Unprocessable("This Idempotency-Key was used with a different request body.",
                            {"Idempotency-Key": ["Already used with a different body."]})
    if row.status_code is None:
        raise Conflict("A request with this Idempotency-Key is still being processed.")
    return Response(row.body, status=row.status_code, headers={**row.headers, "Idempotent-Replayed": "true"})


def _keep(session, scope: str, response: Response) -> None:
    session.execute(sa.update(IdempotencyRow).where(IdempotencyRow.scope == scope).values(
        status_code=response.status_code, body=response.get_data(as_text=True),
        headers={name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}))
