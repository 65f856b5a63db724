"""The HTTP kit: app factory, auth, idempotency, pagination and problem responses."""
from shared.http.app import create_app, runtime_of, unit_of_work
from shared.http.auth import Principal, current_user, require
from shared.http.idempotency import idempotent
from shared.http.pagination import one_page, paginate, paginate_in_order

__all__ = ["Principal", "create_app", "current_user", "idempotent", "one_page", "paginate", "paginate_in_order",
           "require", "runtime_of", "unit_of_work"]
