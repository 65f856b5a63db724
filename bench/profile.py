"""Sampling profiles of the bench's own processes with py-spy (from the bench's environment)."""
from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

PYSPY = Path(__file__).resolve().parent / ".venv" / "bin" / "py-spy"


@contextmanager
def sampled(role: str):
    """Sample this process while the block runs, when `BENCH_PROFILE_DIR` asks for it."""
    folder = os.environ.get("BENCH_PROFILE_DIR")
    if not folder or not PYSPY.exists():
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen([str(PYSPY), "record", "--pid", str(os.getpid()), "--rate", "250", "--format", "raw",
                            "--output", str(Path(folder) / f"{role}.txt"), "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)


def hottest(path: Path, top: int = 12, within: str = "") -> list[tuple[str, float]]:
    """The functions with the largest share of samples (inclusive), from py-spy's collapsed stacks.

    Idle threads (waiting on a socket or a lock with nothing to do) are left out, so the shares are of busy time."""
    inclusive: Counter[str] = Counter()
    busy = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if _idle(frames) or (within and not any(within in frame for frame in frames)):
            continue
        busy += int(count)
        for frame in set(frames):
            inclusive[_short(frame)] += int(count)
    return [(name, round(100 * n / busy, 1)) for name, n in inclusive.most_common(top)] if busy else []


def _idle(frames: list[str]) -> bool:
    leaf = frames[-1]
    return any(word in leaf for word in ("wait (threading.py", "select (selectors.py", "_wait_for_tstate_lock",
                                          "poll (selectors.py", "drain_events", "sleep"))


def _short(frame: str) -> str:
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.split("site-packages/")[-1].split("/work/main/")[-1]
    return f"{name} ({file.rsplit(':', 1)[0]})"
