"""The rules of accounts: registration, login throttling, profiles, suspension, the operator's admin."""
from __future__ import annotations

import hashlib
import math
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.users.models import LoginFailure, User, UserRole, UserSkill
from services.users.states import USER
from shared.db import utcnow
from shared.errors import AccountSuspended, Conflict, NotFound, TooManyRequests
from shared.ids import new_id

hasher = PasswordHasher()
# Timing: an unknown email is checked against this hash so it costs what a wrong password costs.
_DUMMY_HASH = hasher.hash("not-a-real-password")
THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_FAILURES = 5
BAD_CREDENTIALS = "The email or password is not right."
TAKEN = "An account with this email already exists."


def email_key(email: str) -> str:
    return email.strip().lower()


def register(uow, *, email: str, password: str, name: str, roles: list[str], country: str | None) -> User:
    # Locking: hashed before the first query, so the slow hash holds no lock (SQLite's is the whole file).
    password_hash = hasher.hash(password)
    session = uow.session
    if session.scalar(sa.select(User.id).where(User.email_key == email_key(email))):
        raise Conflict(TAKEN)
    user = User(id=new_id(), email=email.strip(), email_key=email_key(email), name=name, country=country,
                password_hash=password_hash, status="active", created_at=utcnow(), role_rows=[], skill_rows=[])
    for role in roles:
        user.grant(role)
    session.add(user)
    try:
        session.flush()
    except sa.exc.IntegrityError:  # the same email registered at the same moment: the unique key decides
        raise Conflict(TAKEN) from None
    uow.emit("users.user.registered", {"user_id": user.id, "email": user.email, "name": user.name, "roles": user.roles})
    return user


def authenticate(uow, *, email: str, password: str) -> User | None:
    """The user these credentials belong to, or None (the failure is recorded for throttling)."""
    session, key = uow.session, email_key(email)
    _take_turns(uow, f"login:{key}")
    now = utcnow()
    recent = list(session.scalars(
        sa.select(LoginFailure.at).where(LoginFailure.email_key == key, LoginFailure.at > now - THROTTLE_WINDOW)
        .order_by(LoginFailure.at.desc()).limit(THROTTLE_FAILURES)))
    if len(recent) >= THROTTLE_FAILURES:
        wait = (recent[-1] + THROTTLE_WINDOW - now).total_seconds()
        raise TooManyRequests("Too many failed logins for this email; try again later.", max(1, math.ceil(wait)))
    user = session.scalar(sa.select(User).where(User.email_key == key))
    if not _password_matches(user.password_hash if user else _DUMMY_HASH, password) or user is None:
        # The log stays small: at most THROTTLE_FAILURES rows per email, none older than the window.
        session.execute(sa.delete(LoginFailure).where(LoginFailure.email_key == key,
                                                      LoginFailure.at <= now - THROTTLE_WINDOW))
        session.add(LoginFailure(email_key=key, at=now))
        return None
    if user.status == "suspended":
        raise AccountSuspended()
    session.execute(sa.delete(LoginFailure).where(LoginFailure.email_key == key))
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def _take_turns(uow, name: str) -> None:
    """Hold the lock `name` until this transaction ends: parallel guesses at one email cannot all slip
    under the limit, and processes starting together make one admin."""
    # Locking: SQLite's BEGIN IMMEDIATE already serializes every writer; PostgreSQL needs a named lock,
    # since there is no row to lock until the first failure (or the admin) has been written.
    if not uow.db.is_sqlite:
        lock_id = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        uow.session.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def update_profile(user: User, changes: dict) -> User:
    profile = changes.pop("profile", None) or {}
    for field, value in changes.items():
        setattr(user, field, value)
    skills = profile.pop("skills", None)
    for field, value in profile.items():
        setattr(user, field, value)
    if skills is not None:
        user.set_skills(skills)
    return user


def active_user(session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or user.status != "active":
        raise NotFound("No such user.")
    return user


def is_suspended(session, user_id: str) -> bool:
    """What every write asks (`shared.http.require`): users answers from its own accounts."""
    return session.scalar(sa.select(User.status).where(User.id == user_id)) == "suspended"


def search(role: str | None, skill: str | None, q: str | None):
    """Active users; the operator's admin accounts are not for the public to find."""
    admins = sa.select(UserRole.user_id).where(UserRole.role == "admin")
    query = sa.select(User).where(User.status == "active", User.id.not_in(admins))
    if role:
        query = query.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == role)))
    if skill:
        query = query.where(User.id.in_(sa.select(UserSkill.user_id).where(UserSkill.skill_key == skill.strip().lower())))
    if q:
        # `%` and `_` are taken literally: a search for "100%" is not a wildcard.
        words = q.strip()
        query = query.where(sa.or_(*(column.icontains(words, autoescape=True)
                                     for column in (User.name, User.title, User.bio))))
    return query


def suspend(uow, *, admin_id: str, user_id: str, reason: str) -> User:
    user = uow.session.scalar(uow.for_update(sa.select(User).where(User.id == user_id)))
    if user is None:
        raise NotFound("No such user.")
    if user.id == admin_id:
        raise Conflict("An admin cannot suspend their own account.")
    if user.status == "suspended":
        raise Conflict("This account is already suspended.")
    USER.apply(user, "suspended")
    user.suspended_reason = reason
    uow.emit("users.user.suspended", {"user_id": user.id, "reason": reason})
    return user


def reinstate(uow, *, user_id: str) -> User:
    """A suspended account is active again; what its suspension ended stays ended."""
    user = uow.session.scalar(uow.for_update(sa.select(User).where(User.id == user_id)))
    if user is None:
        raise NotFound("No such user.")
    if user.status != "suspended":
        raise Conflict("This account is not suspended.")
    USER.apply(user, "active")
    user.suspended_reason = None
    uow.emit("users.user.reinstated", {"user_id": user.id, "reinstated_at": utcnow()})
    return user


def ensure_admin(uow, *, email: str, password: str) -> User:
    """The operator's admin account exists with this password (made or promoted, never over HTTP)."""
    _take_turns(uow, "operator-admin")
    user = uow.session.scalar(sa.select(User).where(User.email_key == email_key(email)))
    if user is None:
        user = User(id=new_id(), email=email.strip(), email_key=email_key(email), name="Administrator",
                    password_hash=hasher.hash(password), status="active", created_at=utcnow(),
                    role_rows=[], skill_rows=[])
        uow.session.add(user)
    elif not _password_matches(user.password_hash, password):
        user.password_hash = hasher.hash(password)
    user.grant("admin")
    return user
