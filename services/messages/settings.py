"""What messages reads from the environment: webhook targets and retries, the stream, e-mail."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Mapping, Self
from urllib.parse import urlsplit

from shared.config import ConfigError, ServiceSettings, env_duration, parse_duration

DEFAULT_RETRY_DELAYS = "10s,1m,10m,1h,6h,24h"


def parse_delays(text: str, name: str = "WEBHOOK_RETRY_DELAYS") -> tuple[timedelta, ...]:
    """`10s,1m,10m`: the waits before each retry, in order (at least one)."""
    parts = [part.strip() for part in (text or "").split(",")]
    if not parts or any(not part for part in parts):
        raise ConfigError(f"{name}: {text!r} is not a comma-separated list of durations like 10s,1m,10m")
    return tuple(parse_duration(part, name) for part in parts)


def parse_flag(text: str | None, name: str, default: bool) -> bool:
    value = (text or "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"{name}: {text!r} is not true or false")
    return value in ("true", "1", "yes")


def parse_smtp_url(text: str | None, name: str = "SMTP_URL") -> str | None:
    """`smtp://user:password@host:587` (STARTTLS when offered) or `smtps://…` (TLS from the start)."""
    if not text:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ConfigError(f"{name}: not a URL like smtp://user:password@host:587") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"{name}: must be smtp://host:port or smtps://host:port")
    return text


@dataclass(frozen=True)
class MessagesSettings(ServiceSettings):
    webhook_allow_private: bool = False
    webhook_retry_delays: tuple[timedelta, ...] = field(default_factory=lambda: parse_delays(DEFAULT_RETRY_DELAYS))
    webhook_timeout: timedelta = timedelta(seconds=5)
    sse_heartbeat: timedelta = timedelta(seconds=15)
    sse_max_age: timedelta = timedelta(minutes=10)
    smtp_url: str | None = None
    mail_from: str = "no-reply@marketplace.local"
    email_unread_delay: timedelta = timedelta(minutes=15)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(
            webhook_allow_private=parse_flag(env.get("WEBHOOK_ALLOW_PRIVATE"), "WEBHOOK_ALLOW_PRIVATE", False),
            webhook_retry_delays=parse_delays(env.get("WEBHOOK_RETRY_DELAYS") or DEFAULT_RETRY_DELAYS),
            webhook_timeout=env_duration(env, "WEBHOOK_TIMEOUT", "5s"),
            sse_heartbeat=env_duration(env, "SSE_HEARTBEAT", "15s"),
            sse_max_age=env_duration(env, "SSE_MAX_AGE", "10m"),
            smtp_url=parse_smtp_url(env.get("SMTP_URL")),
            mail_from=(env.get("MAIL_FROM") or "no-reply@marketplace.local").strip(),
            email_unread_delay=env_duration(env, "EMAIL_UNREAD_DELAY", "15m"),
        )
