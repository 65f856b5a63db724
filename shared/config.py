"""Settings from the environment: one frozen object, validated once at start."""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Mapping

from shared.db import normalize_url

EMBEDDED_BUS = "memory://"

_OWN_DATABASE = "DATABASE_URL_"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable."""


def parse_duration(text: str, name: str) -> timedelta:
    match = _DURATION.match(text or "")
    if not match:
        raise ConfigError(f"{name}: {text!r} is not a duration like 90s, 15m, 2h or 7d")
    value = float(match.group(1)) * _UNITS[match.group(2)]
    if value <= 0:
        raise ConfigError(f"{name}: {text!r} must be longer than zero")
    return timedelta(seconds=value)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: {value} is outside {low}..{high}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip()
    if value.lower() not in {c.lower() for c in choices}:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value.upper() if name == "LOG_LEVEL" else value.lower()


def _pem(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if not value:
        return None
    value = value.replace("\\n", "\n").strip()
    if "-----BEGIN" not in value:
        raise ConfigError(f"{name}: is not a PEM key (it must contain a -----BEGIN line)")
    return value + "\n"


@dataclass(frozen=True)
class Settings:
    amqp_url: str = EMBEDDED_BUS
    database_urls: Mapping[str, str] = field(default_factory=dict)
    database_server_url: str | None = None
    var_dir: Path = Path("var")
    client_fee_bps: int = 500
    freelancer_fee_bps: int = 1000
    offer_ttl: timedelta = timedelta(days=7)
    auto_approve_after: timedelta = timedelta(days=14)
    payout_hold: timedelta = timedelta(days=5)
    review_window: timedelta = timedelta(days=14)
    retry_delays: tuple[timedelta, ...] = (timedelta(seconds=1), timedelta(seconds=10), timedelta(seconds=60))
    audit_max_length: int = 10000
    admin_email: str | None = None
    admin_password: str | None = None
    jwt_private_key: str | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str = "marketplace"
    jwt_audience: str = "marketplace"
    access_token_ttl: timedelta = timedelta(hours=1)
    log_level: str = "INFO"
    log_format: str = "text"
    marketplace_url: str = "http://127.0.0.1:8000"
    exchange: str = "marketplace.events"
    timer_poll: timedelta = timedelta(milliseconds=200)
    outbox_sweep: timedelta = timedelta(seconds=1)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        # Every `DATABASE_URL_<NAME>` is kept, for whichever service is called NAME: the kit has no list.
        urls = {
            key[len(_OWN_DATABASE):].lower(): value
            for key, value in env.items()
            if key.startswith(_OWN_DATABASE) and len(key) > len(_OWN_DATABASE) and value
        }
        delays = tuple(
            parse_duration(part, "RETRY_DELAYS")
            for part in (env.get("RETRY_DELAYS") or "1s,10s,60s").split(",")
        )
        if len(delays) < 1:
            raise ConfigError("RETRY_DELAYS: give at least one delay, e.g. 1s,10s,60s")
        admin_email, admin_password = env.get("ADMIN_EMAIL") or None, env.get("ADMIN_PASSWORD") or None
        if admin_password is not None and len(admin_password) < 10:
            raise ConfigError("ADMIN_PASSWORD: must be at least 10 characters")
        return cls(
            amqp_url=env.get("AMQP_URL") or EMBEDDED_BUS,
            database_urls=urls,
            database_server_url=env.get("DATABASE_URL") or None,
            var_dir=Path(env.get("VAR_DIR") or "var"),
            client_fee_bps=_int(env, "CLIENT_FEE_BPS", 500, 0, 10000),
            freelancer_fee_bps=_int(env, "FREELANCER_FEE_BPS", 1000, 0, 10000),
            offer_ttl=parse_duration(env.get("OFFER_TTL") or "7d", "OFFER_TTL"),
            auto_approve_after=parse_duration(env.get("AUTO_APPROVE_AFTER") or "14d", "AUTO_APPROVE_AFTER"),
            payout_hold=parse_duration(env.get("PAYOUT_HOLD") or "5d", "PAYOUT_HOLD"),
            review_window=parse_duration(env.get("REVIEW_WINDOW") or "14d", "REVIEW_WINDOW"),
            retry_delays=delays,
            audit_max_length=_int(env, "AUDIT_MAX_LENGTH", 10000, 1, 10_000_000),
            admin_email=admin_email,
            admin_password=admin_password,
            jwt_private_key=_pem(env, "JWT_PRIVATE_KEY"),
            jwt_public_key=_pem(env, "JWT_PUBLIC_KEY"),
            jwt_issuer=env.get("JWT_ISSUER") or "marketplace",
            jwt_audience=env.get("JWT_AUDIENCE") or "marketplace",
            access_token_ttl=parse_duration(env.get("ACCESS_TOKEN_TTL") or "1h", "ACCESS_TOKEN_TTL"),
            log_level=_choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            log_format=_choice(env, "LOG_FORMAT", "text", ("text", "json")),
            marketplace_url=(env.get("MARKETPLACE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        )

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: the in-process, SQLite-backed bus is used."""
        return not self.amqp_url.startswith(("amqp://", "amqps://", "pyamqp://"))

    def database_url(self, service: str) -> str:
        """The service's database: `DATABASE_URL_<SERVICE>`, else `marketplace_<service>` on the server
        of `DATABASE_URL`, else a SQLite file under `VAR_DIR`. Only computed: nothing is created here
        (`server_database` names what `migrate`, `stack` and `dev` create when it is missing)."""
        if service in self.database_urls:
            return self.database_urls[service]
        name = self.server_database(service)
        if name is not None:
            return normalize_url(self.database_server_url).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{(self.var_dir / f'{service}.sqlite').resolve()}"

    def server_database(self, service: str) -> str | None:
        """The database the service uses on `DATABASE_URL`'s server, or None when it has its own URL
        or lives in SQLite."""
        if service in self.database_urls or not self.database_server_url:
            return None
        return f"marketplace_{service}"
