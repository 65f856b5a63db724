"""A bare Flask app under the services' own gunicorn settings: the floor each service endpoint is measured against.

    python -m bench.bare --port 8100 --workers 2 --threads 4 --sizes 612,8123

For each size N, any GET or POST under `/N/` answers 200 with a precomputed JSON body of exactly N bytes; a POST
reads its JSON body first, as a service would. Nothing else runs: no database, no schema, no serializing.
"""
from __future__ import annotations

import argparse

from flask import Flask, Response, request

from shared.serve import _Gunicorn, _options

_FRAME = b'{"pad":""}'


def body_of(size: int) -> bytes:
    if size < len(_FRAME):
        raise ValueError(f"a JSON body of {size} bytes is too small to pad")
    return _FRAME[:-2] + b"x" * (size - len(_FRAME)) + _FRAME[-2:]


def create_app(sizes: list[int]) -> Flask:
    app = Flask("bare")
    for size in sizes:
        app.add_url_rule(f"/{size}/<path:_rest>", f"bare_{size}", _answer(body_of(size)), methods=["GET", "POST"])
    return app


def _answer(body: bytes):
    def view(_rest: str) -> Response:
        if request.method == "POST":
            request.get_json()
        return Response(body, mimetype="application/json")

    return view


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--sizes", required=True, help="Comma-separated body sizes in bytes.")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    _Gunicorn(lambda: create_app(sizes), _options(args.host, args.port, args.workers, args.threads)).run()


if __name__ == "__main__":
    main()
