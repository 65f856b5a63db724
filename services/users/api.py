"""The users HTTP API: registration, tokens, profiles, search, suspension and reinstatement."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from services.users import accounts
from services.users.models import User
from services.users.schemas import (PublicUserOut, PublicUserPage, RegisterIn, SuspendIn, TokenIn, TokenOut,
                                    UpdateMeIn, UserOut, UserSearchArgs)
from shared.errors import AccountSuspended, Unauthorized
from shared.http import current_user, paginate, require, runtime_of, unit_of_work

users = Blueprint("users", __name__, url_prefix="/users", description="Accounts and profiles")
auth = Blueprint("auth", __name__, url_prefix="/auth", description="Access tokens and signing keys")
# Ordering: `require` sits right under the route, so a caller without a valid token (or the
# role) gets 401/403 before the body is parsed, never a 422 that describes the schema.


@users.post("")
@users.arguments(RegisterIn)
@users.response(201, UserOut)
def register(body):
    """Open an account as a client, a freelancer or both."""
    # Locking: the slow hash is made before the transaction begins, holding no lock.
    password_hash = accounts.passwords(runtime_of().service_settings).hash(body.pop("password"))
    with unit_of_work() as uow:
        user = accounts.register(uow, password_hash=password_hash, **body)
    return user, 201, {"Location": f"/users/{user.id}"}


@users.get("")
@users.arguments(UserSearchArgs, location="query")
@users.response(200, PublicUserPage)
def search(args):
    """Find active users by role, exact skill, or words of their name, title and bio (admins are not listed)."""
    with unit_of_work(readonly=True) as uow:
        return paginate(uow.session, accounts.search(args.get("role"), args.get("skill"), args.get("q")), User,
                        limit=args["limit"], cursor=args["cursor"])


@users.get("/me")
@require()
@users.response(200, UserOut)
def me():
    """The caller's own account, with email and profile."""
    with unit_of_work(readonly=True) as uow:
        return _own_account(uow.session)


@users.patch("/me")
@require()
@users.arguments(UpdateMeIn)
@users.response(200, UserOut)
def update_me(body):
    """Change name, country or profile; fields not given are left as they are."""
    with unit_of_work() as uow:
        return accounts.update_profile(_own_account(uow.session), body)


@users.get("/<uuid:user_id>")
@users.response(200, PublicUserOut)
def public_profile(user_id):
    """Anyone's public profile (no email); suspended accounts are not found."""
    with unit_of_work(readonly=True) as uow:
        return accounts.active_user(uow.session, str(user_id))


@users.post("/<uuid:user_id>/suspend")
@require("admin")
@users.arguments(SuspendIn)
@users.response(200, UserOut)
def suspend(body, user_id):
    """Suspend an account: no more tokens, its open jobs close, its offers are withdrawn."""
    with unit_of_work() as uow:
        return accounts.suspend(uow, admin_id=current_user().id, user_id=str(user_id), reason=body["reason"])


@users.post("/<uuid:user_id>/reinstate")
@require("admin")
@users.response(200, UserOut)
def reinstate(user_id):
    """Reinstate a suspended account: it may sign in and write again; what its suspension ended stays ended."""
    with unit_of_work() as uow:
        return accounts.reinstate(uow, user_id=str(user_id))


@auth.post("/token")
@auth.arguments(TokenIn)
@auth.response(200, TokenOut)
def token(body):
    """Trade an email and password for a signed access token."""
    user = accounts.log_in(runtime_of(), **body)
    claims = (user.id, user.roles) if user else None
    if claims is None:
        raise Unauthorized(accounts.BAD_CREDENTIALS)
    access_token, ttl = current_app.extensions["tokens"].issue(*claims)
    return {"access_token": access_token, "token_type": "Bearer", "expires_in": ttl}


@auth.get("/jwks.json")
def jwks():
    """The public keys every service verifies tokens with."""
    return current_app.extensions["tokens"].keys.jwks()


def _own_account(session) -> User:
    user = session.get(User, current_user().id)
    if user is None:
        raise Unauthorized("The access token's account does not exist.")
    if user.status != "active":
        raise AccountSuspended()
    return user
