"""Free ports for the servers a test starts, drawn below the kernel's ephemeral range.

A port the kernel hands out for `bind(0)` lies in the ephemeral range, where any outgoing connection
(a worker reaching the broker, a pool opening to PostgreSQL) can take it between the check that it is
free and the server binding it. Below that range only listeners compete: each pytest-xdist worker
draws from a slice of its own, in order from a random start, so no two draws in a run collide.
"""
from __future__ import annotations

import os
import random
import socket

LOWEST = 20000


def ephemeral_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
            return int(ports.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_free(port: int) -> bool:
    """Nothing listens on `port`, on any address (a socket lingering in TIME_WAIT does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def worker_slice(worker: str | None, workers: str | None) -> range:
    """The ports the xdist worker named `worker` (gw0, gw1, …) of `workers` draws from; all of them outside xdist."""
    count = int(workers) if workers and workers.isdigit() and int(workers) > 0 else 1
    index = int(worker[2:]) % count if worker and worker[2:].isdigit() else 0
    width = (ephemeral_start() - LOWEST) // count
    return range(LOWEST + index * width, LOWEST + (index + 1) * width)


class Ports:
    """Hands out free ports from `pool`, each once until the pool wraps round."""

    def __init__(self, pool: range):
        self.pool = pool
        self.cursor = random.randrange(len(pool))

    def take(self, count: int = 1) -> int:
        """The first of `count` free ports in a row."""
        for _ in range(len(self.pool)):
            first = self.pool[self.cursor]
            if first + count > self.pool.stop:
                self.cursor = 0
                continue
            self.cursor = (self.cursor + count) % len(self.pool)
            if all(port_free(port) for port in range(first, first + count)):
                return first
        raise RuntimeError(f"no {count} free port(s) in a row between {self.pool.start} and {self.pool.stop}")


_PORTS = Ports(worker_slice(os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")))


def free_port() -> int:
    return _PORTS.take()


def free_port_row(count: int) -> int:
    """The first of `count` free ports in a row."""
    return _PORTS.take(count)
