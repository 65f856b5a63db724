"""Work outside the marketplace's transactions: webhook requests to a checked address, e-mail by SMTP
or into files; each runs on a small pool of threads so a slow peer holds up nothing else."""
from __future__ import annotations

import http.client
import logging
import os
import smtplib
import socket
import ssl
import tempfile
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit, unquote

log = logging.getLogger(__name__)


class Pool:
    """A few threads for calls outside transactions; `submit` never blocks its caller."""

    def __init__(self, name: str, size: int):
        self.name, self.size = name, size
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, call: Callable[[], None]) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.size, thread_name_prefix=self.name)
        self._executor.submit(self._logged, call)

    def _logged(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # noqa: BLE001 - the durable timer tries again
            log.warning("%s: an outside call failed; its timer tries again", self.name, exc_info=True)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever the name resolves to by now."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(url: str, address: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to `url` at `address`; the response's status (a redirect is returned, never followed)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = kind(parts.hostname or "", port, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                              "User-Agent": "Marketplace-Webhooks/1", **headers})
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status
    finally:
        connection.close()


class Mailer:
    """Sends through `SMTP_URL` (`smtp://` with STARTTLS when offered, `smtps://`), else writes
    `<var>/mail/<id>.eml`."""

    def __init__(self, smtp_url: str | None, sender: str, timeout: float = 30):
        self.smtp_url, self.sender, self.timeout = smtp_url, sender, timeout

    def message(self, *, to: str, subject: str, text: str, message_id: str) -> EmailMessage:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message["Message-ID"] = f"<{message_id}@marketplace.local>"
        message.set_content(text)
        return message

    def send(self, message: EmailMessage, *, folder: Path, name: str) -> None:
        if self.smtp_url is None:
            _write_atomically(folder / "mail" / f"{name}.eml", message.as_bytes())
            return
        parts = urlsplit(self.smtp_url)
        host = parts.hostname or "localhost"
        if parts.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=self.timeout,
                                                   context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, parts.port or 587, timeout=self.timeout)
        with client:
            client.ehlo()
            if parts.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(message)


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)
    os.replace(temporary, path)
