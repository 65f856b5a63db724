"""Every failure as `application/problem+json` (RFC 9457); never a stack trace."""
from __future__ import annotations

import json
import logging

from flask import Response
from werkzeug.exceptions import HTTPException

from shared.errors import DomainError, TooManyRequests, Unauthorized

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None, headers: dict | None = None, **extra) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail or title, **extra}
    return Response(json.dumps(body), status=status, mimetype=PROBLEM, headers=headers)


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages as `{"profile.hourly_rate": ["…"]}`."""
    if isinstance(messages, list):
        return {prefix or "_schema": [str(m) for m in messages]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, (dict, list)):
            out.update(flatten(value, name))
        else:
            out[name] = [str(value)]
    return out


def from_http_exception(error: HTTPException) -> Response:
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    status = error.code or 500
    headers = dict(data.get("headers") or {})
    if status == 400 and messages:
        return problem(400, "Bad Request", "The request body is not valid JSON.")
    if status == 422 and messages:
        errors: dict[str, list[str]] = {}
        for location_messages in messages.values():
            errors.update(flatten(location_messages))
        names = ", ".join(sorted(errors))
        return problem(422, "Unprocessable Entity", f"Invalid fields: {names}", errors=errors)
    if status == 413:
        return problem(413, "Payload Too Large", "The request body is larger than 1 MiB.")
    return problem(status, error.name, error.description if status != 500 else None, headers=headers)


def from_domain_error(error: DomainError) -> Response:
    headers = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="marketplace"'
    return problem(error.status, error.title, error.detail, headers=headers, **error.extra)


def from_database_outage(error: Exception) -> Response:
    """The service's own database did not answer (down, refusing, or timed out): try again shortly."""
    log.warning("database unavailable: %s", type(error).__name__)
    return problem(503, "Service Unavailable", "The service's database does not answer; try again shortly.",
                   headers={"Retry-After": "5"})


def from_unexpected(error: Exception) -> Response:
    # Secrets: the error's type and traceback, never the repr of what it carried (a body, a row);
    # engines hide a failing statement's parameters (shared/db.py) so a hash never reaches the log.
    log.error("unhandled error: %s", type(error).__name__, exc_info=error)
    return problem(500, "Internal Server Error", "Something went wrong on our side; it has been logged.")
