"""Bare Flask apps under the services' own gunicorn settings: the floors each service endpoint is measured against.

    python -m bench.bare --port 8100 --workers 2 --threads 4 --sizes 612,8123 [--database-url postgresql://…]

For each size N, any GET or POST under `/N/` answers 200 with a precomputed JSON body of exactly N bytes; a POST
reads its JSON body first, as a service would. Nothing else runs: no database, no schema, no serializing.

With a database URL (the jobs service's own), `GET /psycopg/jobs/{id}` also reads that job and its skills with raw
psycopg and answers the service's JSON: one autocommit statement on a connection of the gunicorn thread's own, no
pool, no ORM, no schema. That is the stack's limit for a read by key: gunicorn, Flask, psycopg and PostgreSQL alone.
"""
from __future__ import annotations

import argparse
import re
import threading
from datetime import timezone

import psycopg
from flask import Flask, Response, abort, jsonify, request

from shared.serve import _Gunicorn, _options

_FRAME = b'{"pad":""}'
# The row services/jobs reads, its skills in their order, as one statement (the service joins them too).
JOB = """
SELECT j.id, j.client_id, j.title, j.description, j.budget_type, j.budget_amount, j.hourly_rate_max, j.status,
       j.proposals_count, j.created_at,
       coalesce(array_agg(s.skill ORDER BY s.position) FILTER (WHERE s.job_id IS NOT NULL), '{}') AS skills
FROM jobs AS j LEFT JOIN job_skills AS s ON s.job_id = j.id
WHERE j.id = %s
GROUP BY j.id
"""


def body_of(size: int) -> bytes:
    if size < len(_FRAME):
        raise ValueError(f"a JSON body of {size} bytes is too small to pad")
    return _FRAME[:-2] + b"x" * (size - len(_FRAME)) + _FRAME[-2:]


def create_app(sizes: list[int], database_url: str | None = None) -> Flask:
    app = Flask("bare")
    for size in sizes:
        app.add_url_rule(f"/{size}/<path:_rest>", f"bare_{size}", _answer(body_of(size)), methods=["GET", "POST"])
    if database_url:
        app.add_url_rule("/psycopg/jobs/<job_id>", "psycopg_job", _read_job(conninfo(database_url)))
    return app


def conninfo(database_url: str) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://…`) as libpq reads it."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", database_url)


def _answer(body: bytes):
    def view(_rest: str) -> Response:
        if request.method == "POST":
            request.get_json()
        return Response(body, mimetype="application/json")

    return view


def _read_job(dsn: str):
    # Each gunicorn thread opens its own connection on its first request and keeps it: no pool to check out
    # from and no ping, as psycopg_pool is not among the project's dependencies and a thread needs only one.
    local = threading.local()

    def view(job_id: str) -> Response:
        connection = getattr(local, "connection", None)
        if connection is None or connection.closed:
            connection = local.connection = psycopg.connect(dsn, autocommit=True)
        row = connection.execute(JOB, (job_id,)).fetchone()
        if row is None:
            abort(404)
        return jsonify(job_json(row))

    return view


def job_json(row: tuple) -> dict:
    """The fields and formats of the service's JobOut (services/jobs/schemas.py)."""
    (id_, client_id, title, description, budget_type, budget_amount, hourly_rate_max, status, proposals_count,
     created_at, skills) = row
    return {"id": id_, "client_id": client_id, "title": title, "description": description, "skills": list(skills),
            "budget_type": budget_type, "budget_amount": budget_amount, "hourly_rate_max": hourly_rate_max,
            "currency": "USD", "status": status, "proposals_count": proposals_count,
            "created_at": created_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--sizes", required=True, help="Comma-separated body sizes in bytes.")
    parser.add_argument("--database-url", help="The jobs database, for GET /psycopg/jobs/{id}.")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    _Gunicorn(lambda: create_app(sizes, args.database_url),
              _options(args.host, args.port, args.workers, args.threads)).run()


if __name__ == "__main__":
    main()
