"""`python -m bench`: measure the marketplace against baselines run side by side, then write the report.

    python -m bench [--quick] [--only http,bus,sagas] [--out bench/results/latest]

Needs RabbitMQ (`AMQP_URL`) and PostgreSQL (`DATABASE_URL`, a server URL: the run makes and drops
databases of its own), `wrk`, and the bench's own environment (`bench/.venv`, made by `make bench`)
for the load generator and the charts.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import machine

HERE = Path(__file__).resolve().parent
BENCH_PYTHON = Path(os.environ.get("BENCH_PYTHON", HERE / ".venv" / "bin" / "python"))
PARTS = ("http", "bus", "sagas")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Short runs and fewer points: a smoke run, not figures.")
    parser.add_argument("--only", default=",".join(PARTS), help=f"Comma-separated parts among {', '.join(PARTS)}.")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest", help="Where results and the report go.")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so every part still drops its databases and vhost and stops its processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(unknown)}; choose among {', '.join(PARTS)}")
    amqp_url = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
    pg_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    if not amqp_url.startswith("amqp://"):
        parser.error("AMQP_URL must name a RabbitMQ broker (amqp://...): the bench runs the real topology")
    if not BENCH_PYTHON.exists():
        parser.error(f"the bench's own environment is missing ({BENCH_PYTHON}): run `make bench`")

    args.out = args.out.resolve()  # the parts run tools in folders of their own
    args.out.mkdir(parents=True, exist_ok=True)
    results = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": args.quick,
               "machine": machine.describe(pg_url, amqp_url)}
    path = args.out / "results.json"
    for part in parts:
        began = time.monotonic()
        print(f"bench: {part} ...", flush=True)
        module = __import__(f"bench.{part}", fromlist=["run"])
        results[part] = module.run(args.out / part, amqp_url=amqp_url, pg_url=pg_url, quick=args.quick)
        results[part]["seconds"] = round(time.monotonic() - began, 1)
        path.write_text(json.dumps(results, indent=2))
        print(f"bench: {part} done in {results[part]['seconds']}s", flush=True)
    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    path.write_text(json.dumps(results, indent=2))
    subprocess.run([str(BENCH_PYTHON), str(HERE / "report.py"), str(path)], check=True)
    print(f"bench: report in {args.out / 'REPORT.md'}")


if __name__ == "__main__":
    sys.exit(main())
