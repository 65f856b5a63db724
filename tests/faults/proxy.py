"""A TCP proxy the tests can cut or freeze: the broker or a database going away, without touching the server."""
from __future__ import annotations

import socket
import threading
import time

from tests.ports import free_port


class Proxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut` drops every connection and refuses new ones for a while."""

    def __init__(self, target: tuple[str, int], name: str = "proxy"):
        self.target, self.name = target, name
        self.port = free_port()
        self._open = threading.Event()
        self._open.set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._listener = socket.create_server(("127.0.0.1", self.port), backlog=128)
        self._stopped = False
        self.cuts = 0
        threading.Thread(target=self._accept, name=f"{name}-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                _close(downstream)  # refused: the server is "down"
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(downstream)
                continue
            pair = (downstream, upstream)
            with self._lock:
                self._pairs.add(pair)
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(pair, source, sink), daemon=True).start()

    def _pump(self, pair, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard(pair)
            for sock in pair:
                _close(sock)

    def drop_all(self) -> None:
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
        for pair in pairs:
            for sock in pair:
                _close(sock)

    def cut(self) -> None:
        """The server is gone: every connection drops, new ones are refused until `restore`."""
        self.cuts += 1
        self._open.clear()
        self.drop_all()

    def restore(self) -> None:
        self._open.set()

    def outage(self, seconds: float) -> None:
        self.cut()
        time.sleep(seconds)
        self.restore()

    def freeze(self) -> None:
        """The server hangs: connections stay open but nothing flows until `thaw`."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def close(self) -> None:
        self._stopped = True
        self._flowing.set()
        _close(self._listener)
        self.drop_all()


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
