"""Where a webhook may point, and how a delivery is signed: pure rules, no I/O but name resolution.

Addresses: link-local and metadata, the unspecified network and multicast are always refused; loopback
and private networks unless allowed (`WEBHOOK_ALLOW_PRIVATE`). An IPv4-mapped IPv6 address is judged
as the IPv4 address it carries. Signatures are Stripe's scheme: `t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">`, keyed with the whole secret.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from datetime import timedelta
from urllib.parse import urlsplit

MAX_URL = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALWAYS_REFUSED = tuple(ipaddress.ip_network(net) for net in (
    "169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "0.0.0.0/8", "::/128", "224.0.0.0/4", "ff00::/8",
))
PRIVATE = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
))


class Refused(ValueError):
    """A URL or address a webhook may not use; the message says why."""


def normalized(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def refusal(address: Address, *, allow_private: bool) -> str | None:
    """Why `address` may not be connected to, or None when it may."""
    address = normalized(address)
    if address.is_multicast or any(address in net for net in ALWAYS_REFUSED if net.version == address.version):
        return f"{address} is a link-local, metadata, unspecified or multicast address"
    if not allow_private and any(address in net for net in PRIVATE if net.version == address.version):
        return f"{address} is a loopback or private address"
    return None


def parse(url: str) -> tuple[str, str, int]:
    """`(scheme, host, port)` of an http(s) URL of at most 2048 characters, with no credentials."""
    if len(url) > MAX_URL:
        raise Refused(f"The URL is longer than {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("Not a URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("Only http:// and https:// URLs with a host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("The URL may not carry a user name or password.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise Refused("The URL has spaces or control characters.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int, *, allow_private: bool) -> Address:
    """The first address `host` resolves to, if every address it resolves to may be used."""
    found = _addresses(host, port)
    if not found:
        raise Refused(f"{host} does not resolve.")
    for address in found:
        why = refusal(address, allow_private=allow_private)
        if why:
            raise Refused(f"{host}: {why}.")
    return normalized(found[0])


def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check(url: str, *, allow_private: bool) -> Address:
    """The address a delivery to `url` connects to now; raises `Refused` for a URL or address not allowed."""
    _, host, port = parse(url)
    return resolve(host, port, allow_private=allow_private)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver checks: a `v1` that matches, made within `tolerance` seconds of `now`."""
    fields = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in fields if key == "t"]
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        return False
    timestamp = int(timestamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, value in fields)


def retry_delay(delays: tuple[timedelta, ...], attempts_made: int) -> timedelta | None:
    """The wait before the next attempt after `attempts_made` failed ones; None when that was the last.

    `attempts = tiers + 1`: the first attempt, then one after each delay."""
    if attempts_made < 1:
        raise ValueError("at least one attempt is made before a retry")
    return delays[attempts_made - 1] if attempts_made <= len(delays) else None
