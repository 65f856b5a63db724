"""JWTs: EdDSA keys (from config, else made once under var/), issuing, pinned verification, roles."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import wraps
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, g, request
from flask_smorest import Blueprint

from shared import context
from shared.config import ConfigError, Settings
from shared.errors import AccountSuspended, Forbidden, Unauthorized
from shared.suspensions import is_suspended

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")  # reads: a suspended account may still see what it owns
ALGORITHM = "EdDSA"  # pinned: a token claiming any other algorithm, `none` included, is refused
BEARER = [{"bearerAuth": []}]  # the security requirement of the scheme `create_app` declares


@dataclass(frozen=True)
class Principal:
    id: str
    roles: tuple[str, ...]

    def has(self, role: str) -> bool:
        return role in self.roles


class Keys:
    def __init__(self, settings: Settings):
        private_pem, public_pem = settings.jwt_private_key, settings.jwt_public_key
        if private_pem is None and public_pem is None:
            private_pem, public_pem = _kept_keys(settings.var_dir / "jwt")
        self.private = _load(private_pem, "JWT_PRIVATE_KEY", private=True) if private_pem else None
        self.public = (_load(public_pem, "JWT_PUBLIC_KEY", private=False) if public_pem
                       else self.private.public_key())
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.kid = hashlib.sha256(raw).hexdigest()[:16]

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.public))
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}]}


def _load(pem: str, name: str, *, private: bool):
    try:
        key = (serialization.load_pem_private_key(pem.encode(), password=None) if private
               else serialization.load_pem_public_key(pem.encode()))
    except ValueError as error:
        raise ConfigError(f"{name}: not a readable PEM key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey if private else Ed25519PublicKey):
        raise ConfigError(f"{name}: must be an Ed25519 key (openssl genpkey -algorithm ed25519)")
    return key


def _kept_keys(folder: Path) -> tuple[str, str]:
    """The dev key pair under var/: made by the first process, then shared by all from this folder."""
    private_file, public_file = folder / "private.pem", folder / "public.pem"
    if not private_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        descriptor, temporary = tempfile.mkstemp(dir=folder)
        with os.fdopen(descriptor, "wb") as out:
            out.write(pem)
        os.chmod(temporary, 0o600)
        try:
            os.link(temporary, private_file)  # atomic: the first process to get here wins
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    private_pem = private_file.read_text()
    public_pem = _load(private_pem, "JWT_PRIVATE_KEY", private=True).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    if not public_file.exists():
        public_file.write_text(public_pem)
    return private_pem, public_pem


class Tokens:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.keys = Keys(settings)

    def issue(self, user_id: str, roles: list[str]) -> tuple[str, int]:
        if self.keys.private is None:
            raise RuntimeError("this process has no JWT_PRIVATE_KEY to sign with")
        now = int(datetime.now(timezone.utc).timestamp())
        ttl = int(self.settings.access_token_ttl.total_seconds())
        claims = {"sub": user_id, "roles": list(roles), "iat": now, "exp": now + ttl,
                  "iss": self.settings.jwt_issuer, "aud": self.settings.jwt_audience}
        return jwt.encode(claims, self.keys.private, algorithm=ALGORITHM, headers={"kid": self.keys.kid}), ttl

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self.keys.public, algorithms=[ALGORITHM],
                                audience=self.settings.jwt_audience, issuer=self.settings.jwt_issuer,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The access token has expired.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The access token is not valid.") from None
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthorized("The access token is not valid.")
        return Principal(str(claims["sub"]), tuple(roles))


def current_user() -> Principal:
    """The caller, from `Authorization: Bearer …`; 401 when missing or not valid."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("An access token is required: Authorization: Bearer <token>.")
        g.principal = current_app.extensions["tokens"].verify(token.strip())
        context.identify(g.principal.id)
    return g.principal


def require(*roles: str):
    """The view needs a signed-in caller holding one of `roles` (any caller when none is given).

    A write (any method but GET, HEAD, OPTIONS) by a suspended account is a 403 `account-suspended`,
    from the moment this service heard of the suspension, however long the token still runs.
    The API document says so too: the operation carries the bearer security requirement.
    """

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if roles and not any(user.has(role) for role in roles):
                raise Forbidden(f"This needs the {' or '.join(roles)} role.")
            if request.method not in SAFE_METHODS:
                given = kwargs.get("uow")  # under @idempotent: ask in its transaction, not a second one
                if is_suspended(current_app.extensions["runtime"], user.id, getattr(given, "session", None)):
                    raise AccountSuspended()
            return view(*args, **kwargs)

        wrapper._auth_roles = roles
        return Blueprint.doc(security=BEARER)(wrapper)

    return decorate
