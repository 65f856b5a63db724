"""Render RabbitMQ's boot definitions: the committed template plus each user's password hash.

    python render-definitions.py TEMPLATE OUTPUT

`definitions.json` (committed) holds the vhost, the users and their permissions, with every
`password_hash` empty. This fills each one from the environment, `RABBITMQ_<USER>_PASSWORD`
(`operator` -> RABBITMQ_OPERATOR_PASSWORD, `payments` -> RABBITMQ_PAYMENTS_PASSWORD, ...),
hashed the way RabbitMQ does it (rabbit_password_hashing_sha256: base64(salt + sha256(salt +
password)) with a random 4-byte salt), so no password is ever written down in clear. It runs
before the broker starts (a one-shot compose service, an init container in Kubernetes) and
writes OUTPUT, which rabbitmq.conf loads with `load_definitions`. Standard library only.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import tempfile


def password_hash(password: str, salt: bytes | None = None) -> str:
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode("ascii")


def variable(user: str) -> str:
    return "RABBITMQ_" + user.upper().replace("-", "_").replace(".", "_") + "_PASSWORD"


def render(template: dict, env: dict) -> dict:
    missing = [variable(user["name"]) for user in template["users"] if not env.get(variable(user["name"]))]
    if missing:
        raise SystemExit(f"render-definitions: set {', '.join(missing)}")
    rendered = json.loads(json.dumps(template))
    for user in rendered["users"]:
        user["password_hash"] = password_hash(env[variable(user["name"])])
        user["hashing_algorithm"] = "rabbit_password_hashing_sha256"
    return rendered


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as source:
        rendered = render(json.load(source), dict(os.environ))
    folder = os.path.dirname(os.path.abspath(argv[2]))
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".definitions-")
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(rendered, out, indent=2)
    os.chmod(temporary, 0o644)  # the broker runs as another user; the file holds only salted hashes
    os.replace(temporary, argv[2])
    print(f"render-definitions: wrote {argv[2]} ({len(rendered['users'])} users)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
