"""The rules of accounts: registration, login throttling, profiles, suspension, the operator's admin."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from services.users.models import LoginFailure, User, UserRole, UserSkill
from services.users.settings import THROTTLE_WINDOW
from services.users.states import USER
from shared.db import utcnow
from shared.errors import AccountSuspended, Conflict, NotFound, TooManyRequests
from shared.ids import new_id

THROTTLE_FAILURES = 5
BAD_CREDENTIALS = "The email or password is not right."
TAKEN = "An account with this email already exists."


@dataclass(frozen=True)
class Passwords:
    """Argon2id with the service's parameters (`ARGON2_*`). Every call is slow on purpose: make it
    outside any transaction, so that it holds no lock (on SQLite, the write lock is the whole file)."""

    hasher: PasswordHasher
    # Timing: an unknown email is checked against this hash so it costs what a wrong password costs.
    dummy_hash: str

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def matches(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """The hash was made with other parameters (older ones, or the library's defaults)."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


@lru_cache(maxsize=8)
def _passwords(memory_kib: int, time_cost: int, parallelism: int) -> Passwords:
    hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism, type=Type.ID)
    return Passwords(hasher, hasher.hash("not-a-real-password"))


def passwords(settings) -> Passwords:
    """The password hasher of these users settings (built once per set of parameters)."""
    return _passwords(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)


def email_key(email: str) -> str:
    return email.strip().lower()


def register(uow, *, email: str, password_hash: str, name: str, roles: list[str], country: str | None) -> User:
    """A new account; its password was hashed (`passwords(...).hash`) before this transaction began."""
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


@dataclass(frozen=True)
class LoginAttempt:
    """A login under way: counted as a failure until it is proven right, and the hash to check."""

    email_key: str
    failure_id: int
    user_id: str | None
    password_hash: str | None


@dataclass(frozen=True)
class Verdict:
    matches: bool
    new_hash: str | None = None  # the password hashed again with today's parameters, when it matched


def log_in(runtime, *, email: str, password: str) -> User | None:
    """The user these credentials belong to, or None (the failure is kept for throttling).

    Three steps, so the slow hash check holds no lock: a short write counts the attempt (as a failure
    until proven right) and reads the hash, the check runs outside any transaction, and a short write
    records the outcome (the failures forgotten, the hash renewed if its parameters are old)."""
    with runtime.unit_of_work() as uow:
        attempt = begin_login(uow, email=email)
    verdict = check_password(passwords(runtime.service_settings), attempt, password)
    with runtime.unit_of_work() as uow:
        return finish_login(uow, attempt, verdict)


def begin_login(uow, *, email: str) -> LoginAttempt:
    """Refuse an email with too many recent failures; count this attempt among them, before it is checked."""
    session, key = uow.session, email_key(email)
    _take_turns(uow, f"login:{key}")
    now = utcnow()
    recent = list(session.scalars(
        sa.select(LoginFailure.at).where(LoginFailure.email_key == key, LoginFailure.at > now - THROTTLE_WINDOW)
        .order_by(LoginFailure.at.desc()).limit(THROTTLE_FAILURES)))
    if len(recent) >= THROTTLE_FAILURES:
        wait = (recent[-1] + THROTTLE_WINDOW - now).total_seconds()
        raise TooManyRequests("Too many failed logins for this email; try again later.", max(1, math.ceil(wait)))
    # Races: the attempt is written before its password is checked (outside this transaction), so parallel
    # guesses at one email cannot all slip under the limit; a right password takes it back.
    # The log stays small: at most THROTTLE_FAILURES rows per email, none older than the window.
    session.execute(sa.delete(LoginFailure).where(LoginFailure.email_key == key,
                                                  LoginFailure.at <= now - THROTTLE_WINDOW))
    failure = LoginFailure(email_key=key, at=now)
    session.add(failure)
    session.flush()
    user = session.scalar(sa.select(User).where(User.email_key == key))
    return LoginAttempt(key, failure.id, user.id if user else None, user.password_hash if user else None)


def check_password(passwords: Passwords, attempt: LoginAttempt, password: str) -> Verdict:
    """Outside any transaction: whether the password is right, and its new hash if its parameters are old."""
    if attempt.password_hash is None:
        passwords.matches(passwords.dummy_hash, password)
        return Verdict(False)
    if not passwords.matches(attempt.password_hash, password):
        return Verdict(False)
    return Verdict(True, passwords.hash(password) if passwords.needs_rehash(attempt.password_hash) else None)


def finish_login(uow, attempt: LoginAttempt, verdict: Verdict) -> User | None:
    """Record the checked attempt: a wrong password stays counted; a right one forgets the failures."""
    session = uow.session
    if not verdict.matches:
        return None
    user = session.scalar(uow.for_update(sa.select(User).where(User.id == attempt.user_id)))
    if user is None:
        return None
    session.execute(sa.delete(LoginFailure).where(LoginFailure.email_key == attempt.email_key))
    if user.status == "suspended":
        raise AccountSuspended()
    if verdict.new_hash is not None and user.password_hash == attempt.password_hash:
        # Races: a parallel login that renewed it first wins; both hashes are of this same password.
        user.password_hash = verdict.new_hash
    return user


def _take_turns(uow, name: str) -> None:
    """Hold the lock `name` until this transaction ends: parallel guesses at one email cannot all slip
    under the limit, and processes starting together make one admin."""
    # Locking: SQLite's BEGIN IMMEDIATE already serializes every writer; PostgreSQL needs a named lock,
    # since there is no row to lock until the first failure (or the admin) has been written.
    if not uow.db.is_sqlite:
        lock_id = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        uow.session.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))


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
    hasher = passwords(uow.settings)
    user = uow.session.scalar(sa.select(User).where(User.email_key == email_key(email)))
    if user is None:
        user = User(id=new_id(), email=email.strip(), email_key=email_key(email), name="Administrator",
                    password_hash=hasher.hash(password), status="active", created_at=utcnow(),
                    role_rows=[], skill_rows=[])
        uow.session.add(user)
    elif not hasher.matches(user.password_hash, password):
        user.password_hash = hasher.hash(password)
    user.grant("admin")
    return user
