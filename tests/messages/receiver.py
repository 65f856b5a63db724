"""A real HTTP server that receives webhook deliveries and answers as each test tells it to."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """`answers` is a list of (status, delay seconds) taken in turn; the last one repeats."""

    def __init__(self, answers=((200, 0),), location: str | None = None):
        self.answers = list(answers)
        self.location = location
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                    status, delay = receiver.answers[min(len(receiver.received), len(receiver.answers)) - 1]
                time.sleep(delay)
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks/marketplace"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
