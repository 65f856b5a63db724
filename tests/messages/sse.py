"""A Server-Sent Events client that reads the wire line by line, as a browser's EventSource does."""
from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Frame:
    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comment: str | None = None
    at: float = 0.0

    @property
    def notification(self) -> dict:
        return json.loads(self.data or "null")


class Stream:
    def __init__(self, url: str, token: str, last_event_id: str | None = None, timeout: float = 10):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.connection.request("GET", parts.path, headers=headers)
        self.response = self.connection.getresponse()

    def frame(self) -> Frame | None:
        """The next frame (an event, a `retry:` or a comment); None when the stream ended."""
        frame = Frame()
        while True:
            line = self.response.fp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                frame.at = time.monotonic()
                return frame
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                frame.comment = value
            elif name == "retry":
                frame.retry = int(value)
            elif name in ("id", "event", "data"):
                setattr(frame, name, value)

    def events(self, count: int) -> list[Frame]:
        found = []
        while len(found) < count:
            frame = self.frame()
            assert frame is not None, f"the stream ended after {found}"
            if frame.event:
                found.append(frame)
        return found

    def close(self) -> None:
        self.connection.close()
