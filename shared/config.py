"""Settings from the environment: one frozen object, validated once at start.

`Settings` holds what the kit needs (broker, databases, retries, signing keys, logging, audit).
A service's own settings (fee rates, timers of its sagas, ...) live in the service, as a
`ServiceSettings` subclass that reads its variables with the parsers here (`env_int`,
`env_duration`, `env_text`, ...), so every variable is checked the same way and a bad value
names the variable that holds it.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Mapping, Self

from shared.db import normalize_url
from shared.provenance import InvalidMapping, Publishers

EMBEDDED_BUS = "memory://"

_OWN_DATABASE = "DATABASE_URL_"
# ASCII digits only: `\d`, `int` and `float` also take other scripts' digits (`٣`) and `1_000`.
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)\s*$")
_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# The inbox outlives the retry tiers by at least this much: redeliveries and re-sends of the sweep come later.
MIN_INBOX_MARGIN = timedelta(hours=1)
# The longest duration any setting may hold: ten years. Every duration is added to the present
# (a deadline, an expiry, a hold), and a longer one is a typo that would overflow that addition
# only later, at run time, halfway through a saga.
MAX_DURATION = timedelta(days=3650)


class ConfigError(ValueError):
    """A configuration value is unusable; the message names the variable."""


def parse_duration(text: str, name: str) -> timedelta:
    """`90s`, `15m`, `2h`, `7d` or `250ms` as a positive duration of at most `MAX_DURATION` (3650d);
    `name` is the variable it came from."""
    match = _DURATION.match(text or "")
    if not match:
        raise ConfigError(f"{name}: {text!r} is not a duration like 90s, 15m, 2h or 7d")
    value = float(match.group(1)) * _UNITS[match.group(2)]
    if value <= 0:
        raise ConfigError(f"{name}: {text!r} must be longer than zero")
    # A value past the maximum (a long run of digits reads as infinity) is refused before it is
    # made a timedelta, which would overflow on it or on the first `now + duration`.
    if not value <= MAX_DURATION.total_seconds():
        raise ConfigError(f"{name}: {text!r} is longer than the maximum of {MAX_DURATION.days}d")
    return timedelta(seconds=value)


def env_duration(env: Mapping[str, str], name: str, default: str) -> timedelta:
    """The duration in variable `name`, or `default` (written the same way) when it is unset or empty."""
    return parse_duration(env.get(name) or default, name)


def env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """The whole number in variable `name` (ASCII digits), within `low..high`; `default` when unset or blank."""
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    if not _WHOLE.fullmatch(raw):
        raise ConfigError(f"{name}: {raw!r} is not a whole number")
    if len(raw.strip().lstrip("+-")) > 30:  # past any bound, and Python refuses to read 4300 digits
        raise ConfigError(f"{name}: {raw.strip()[:12]}… is outside {low}..{high}")
    value = int(raw)
    if not low <= value <= high:
        raise ConfigError(f"{name}: {value} is outside {low}..{high}")
    return value


def env_choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (any case) in variable `name`, or `default`."""
    value = (env.get(name) or default).strip()
    if value.lower() not in {c.lower() for c in choices}:
        raise ConfigError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value.upper() if name == "LOG_LEVEL" else value.lower()


def env_text(env: Mapping[str, str], name: str, min_length: int = 0) -> str | None:
    """The text in variable `name`, or None when unset or empty; when set, at least `min_length` characters."""
    value = env.get(name) or None
    if value is not None and len(value) < min_length:
        raise ConfigError(f"{name}: must be at least {min_length} characters")
    return value


def env_pem(env: Mapping[str, str], name: str) -> str | None:
    """A PEM key in variable `name` (newlines may be written `\\n`), or None when unset."""
    value = env.get(name)
    if not value:
        return None
    value = value.replace("\\n", "\n").strip()
    if "-----BEGIN" not in value:
        raise ConfigError(f"{name}: is not a PEM key (it must contain a -----BEGIN line)")
    return value + "\n"


MAX_RETENTION = timedelta(days=3650)


def env_retention(env: Mapping[str, str], name: str, default: str) -> timedelta:
    """How long rows are kept before pruning, in variable `name`: a duration of at most ten years."""
    value = env_duration(env, name, default)
    if value > MAX_RETENTION:
        raise ConfigError(f"{name}: {env.get(name)!r} is longer than {MAX_RETENTION.days}d")
    return value


def _retention(env: Mapping[str, str], name: str) -> timedelta:
    return env_retention(env, name, "7d")


def _publishers(env: Mapping[str, str]) -> Publishers:
    try:
        return Publishers.parse(env.get("AMQP_PUBLISHERS"))
    except InvalidMapping as error:
        raise ConfigError(f"AMQP_PUBLISHERS: {error}") from None


@dataclass(frozen=True)
class ServiceSettings:
    """A service's own settings. A service subclasses it (a frozen dataclass) and reads its variables
    in `from_env`; `Service(settings=...)` names the class and the runtime builds it once at start."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls()

    def replace(self, **changes) -> Self:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Settings:
    amqp_url: str = EMBEDDED_BUS
    database_urls: Mapping[str, str] = field(default_factory=dict)
    database_server_url: str | None = None
    var_dir: Path = Path("var")
    retry_delays: tuple[timedelta, ...] = (timedelta(seconds=1), timedelta(seconds=10), timedelta(seconds=60))
    audit_max_length: int = 10000
    # RabbitMQ's queues: quorum (replicated over the cluster's nodes) or classic; a quorum events queue
    # dead-letters a message redelivered more than `delivery_limit` times.
    queue_type: str = "quorum"
    delivery_limit: int = 20
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
    # Pruning (the worker's): sent outbox rows and inbox rows are kept this long, then deleted in batches.
    outbox_retention: timedelta = timedelta(days=7)
    inbox_retention: timedelta = timedelta(days=7)
    prune_every: timedelta = timedelta(hours=1)
    prune_batch: int = 1000
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # The most deliveries a worker decides on in one transaction (shared/consumer.py, `process_batch`).
    consumer_batch: int = 20
    # Forged events: the broker user each producer publishes as, and the users that may replay (shared/provenance.py).
    publishers: Publishers = field(default_factory=Publishers)
    replayers: frozenset[str] = frozenset()

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
        inbox_retention = _retention(env, "INBOX_RETENTION")
        if inbox_retention <= sum(delays, timedelta()) + MIN_INBOX_MARGIN:
            # A copy redelivered after its inbox row was pruned would have a second effect.
            raise ConfigError(f"INBOX_RETENTION: {env.get('INBOX_RETENTION')!r} must be longer than every retry "
                              f"(RETRY_DELAYS add up to {sum(delays, timedelta())}) plus {MIN_INBOX_MARGIN}")
        return cls(
            amqp_url=env.get("AMQP_URL") or EMBEDDED_BUS,
            database_urls=urls,
            database_server_url=env.get("DATABASE_URL") or None,
            var_dir=Path(env.get("VAR_DIR") or "var"),
            retry_delays=delays,
            audit_max_length=env_int(env, "AUDIT_MAX_LENGTH", 10000, 1, 10_000_000),
            queue_type=env_choice(env, "QUEUE_TYPE", "quorum", ("quorum", "classic")),
            delivery_limit=env_int(env, "DELIVERY_LIMIT", 20, 1, 1000),
            jwt_private_key=env_pem(env, "JWT_PRIVATE_KEY"),
            jwt_public_key=env_pem(env, "JWT_PUBLIC_KEY"),
            jwt_issuer=env.get("JWT_ISSUER") or "marketplace",
            jwt_audience=env.get("JWT_AUDIENCE") or "marketplace",
            access_token_ttl=env_duration(env, "ACCESS_TOKEN_TTL", "1h"),
            log_level=env_choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            log_format=env_choice(env, "LOG_FORMAT", "text", ("text", "json")),
            marketplace_url=(env.get("MARKETPLACE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            outbox_retention=_retention(env, "OUTBOX_RETENTION"),
            inbox_retention=inbox_retention,
            prune_every=env_duration(env, "PRUNE_EVERY", "1h"),
            prune_batch=env_int(env, "PRUNE_BATCH", 1000, 1, 100_000),
            db_pool_size=env_int(env, "DB_POOL_SIZE", 10, 1, 1000),
            db_max_overflow=env_int(env, "DB_MAX_OVERFLOW", 10, 0, 1000),
            consumer_batch=env_int(env, "CONSUMER_BATCH", 20, 1, 100),
            publishers=_publishers(env),
            replayers=frozenset(user.strip() for user in (env.get("AMQP_REPLAYERS") or "").split(",")
                                   if user.strip()),
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
        name, server = self.server_database(service), self.database_server_url
        if name is not None and server is not None:
            return normalize_url(server).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{(self.var_dir / f'{service}.sqlite').resolve()}"

    def server_database(self, service: str) -> str | None:
        """The database the service uses on `DATABASE_URL`'s server, or None when it has its own URL
        or lives in SQLite."""
        if service in self.database_urls or not self.database_server_url:
            return None
        return f"marketplace_{service}"
