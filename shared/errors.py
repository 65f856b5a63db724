"""Domain errors every service raises; the HTTP layer maps each to one problem status."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    status, title = 404, "Not Found"


class Forbidden(DomainError):
    status, title = 403, "Forbidden"


class AccountSuspended(Forbidden):
    """The caller's account is suspended: it may read what it owns, and change nothing."""

    TYPE = "/problems/account-suspended"

    def __init__(self, detail: str = "This account is suspended."):
        super().__init__(detail, type=self.TYPE)


class Conflict(DomainError):
    status, title = 409, "Conflict"


class Unprocessable(DomainError):
    status, title = 422, "Unprocessable Entity"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(detail, errors=errors or {})


class PaymentRequired(DomainError):
    status, title = 402, "Payment Required"


class Unauthorized(DomainError):
    status, title = 401, "Unauthorized"


class TooManyRequests(DomainError):
    status, title = 429, "Too Many Requests"

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


class NotReady(Exception):
    """An event arrived before the state it needs; the consumer retries it later."""


class IllegalTransition(Conflict):
    """A state machine refused a move."""
