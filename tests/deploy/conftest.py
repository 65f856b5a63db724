"""Real credentials for the deployment tests, set up exactly as compose sets them up, on the local
servers and under unique names (so concurrent runs and other tests are not disturbed):

- `broker`: the committed RabbitMQ definitions, rendered by deploy/rabbitmq/render-definitions.py
  and imported with `rabbitmqctl import_definitions` into a fresh vhost, every user's name
  prefixed; removed afterwards. Needs rabbitmqctl next to the broker (CI has it).
- `databases`: deploy/postgres/init-databases.sh run with psql against the local server, with a
  unique MARKETPLACE_DB_PREFIX (a database and a role per service); dropped afterwards. Without
  psql, the databases are made with shared.db.ensure_database and the server's own credentials.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from urllib.parse import quote, urlsplit

import pytest
import sqlalchemy as sa

from shared.db import drop_database, ensure_database, normalize_url
from tests import infra
from tests.deploy.helpers import (
    DEPLOY,
    SERVICES,
    definitions,
    render_definitions_module,
)


def _rabbitmqctl(*args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=check,
                          input=stdin)


@pytest.fixture(scope="session")
def broker(amqp_url):
    """{'vhost', 'host', 'port', 'users': {definitions user: (real name, password)}, 'url': fn}."""
    target = urlsplit(amqp_url)
    if target.hostname not in ("127.0.0.1", "localhost") or (target.port or 5672) != 5672 or not shutil.which("rabbitmqctl"):
        infra.unavailable("rabbitmqctl for the local RabbitMQ (to import the deployment's broker users)")
    if _rabbitmqctl("status", check=False).returncode != 0:
        infra.unavailable("rabbitmqctl (it cannot reach the local RabbitMQ node; run it as its owner)")
    render = render_definitions_module()
    template = definitions()
    prefix = f"mpdeploy{uuid.uuid4().hex[:8]}-"
    passwords = {user["name"]: secrets.token_hex(12) for user in template["users"]}
    rendered = render.render(template, {render.variable(name): password for name, password in passwords.items()})
    vhost = prefix + "marketplace"
    for user in rendered["users"]:
        user["name"] = prefix + user["name"]
    for permission in rendered["permissions"] + rendered["topic_permissions"]:
        permission["user"], permission["vhost"] = prefix + permission["user"], vhost
    rendered["vhosts"] = [{**v, "name": vhost} for v in rendered["vhosts"]]
    # rabbitmqctl may run as the broker's own user, who cannot read pytest's temporary folders,
    # and 3.10 does not read stdin: a readable file of its own in the system's temp folder.
    descriptor, path = tempfile.mkstemp(prefix=prefix, suffix=".json")
    with os.fdopen(descriptor, "w") as out:
        json.dump(rendered, out)
    os.chmod(path, 0o644)
    try:
        imported = _rabbitmqctl("import_definitions", path, check=False)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the import is asynchronous
            listed = _rabbitmqctl("list_permissions", "-p", vhost, check=False).stdout
            topics = _rabbitmqctl("list_topic_permissions", "-p", vhost, check=False).stdout
            if all(prefix + name in listed for name in passwords) and all(
                    prefix + permission["user"][len(prefix):] in topics for permission in rendered["topic_permissions"]):
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"the definitions were not imported into {vhost}")

        def url(name: str) -> str:
            return (f"amqp://{quote(prefix + name, safe='')}:{passwords[name]}@{target.hostname}:{target.port or 5672}/"
                    f"{quote(vhost, safe='')}")

        yield {"vhost": vhost, "prefix": prefix, "host": target.hostname, "port": target.port or 5672,
               "users": {name: (prefix + name, passwords[name]) for name in passwords}, "url": url,
               "rendered": rendered}
    finally:
        os.unlink(path)
        _rabbitmqctl("delete_vhost", vhost, check=False)
        for name in passwords:
            _rabbitmqctl("delete_user", prefix + name, check=False)


@pytest.fixture(scope="session")
def databases(pg_server_url):
    """{service: (database, role, password)} on the local server, made as compose makes them."""
    server = normalize_url(pg_server_url)
    prefix = f"marketplace_deploy_{uuid.uuid4().hex[:8]}_"
    passwords = {name: secrets.token_hex(12) for name in SERVICES}
    made_roles = False
    if shutil.which("psql"):
        env = {**os.environ, "MARKETPLACE_DB_PREFIX": prefix, "POSTGRES_USER": server.username or "postgres",
               "PGHOST": server.host or "127.0.0.1", "PGPORT": str(server.port or 5432),
               **({"PGPASSWORD": server.password} if server.password else {}),
               **{f"POSTGRES_{name.upper()}_PASSWORD": password for name, password in passwords.items()}}
        result = subprocess.run(["sh", str(DEPLOY / "postgres" / "init-databases.sh")], env=env,
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        made_roles = True
    else:
        for name in SERVICES:
            ensure_database(server, prefix + name)
    try:
        yield {name: (prefix + name, prefix + name if made_roles else server.username,
                      passwords[name] if made_roles else server.password) for name in SERVICES}
    finally:
        for name in SERVICES:
            drop_database(server, prefix + name)
        if made_roles:
            engine = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT",
                                      poolclass=sa.pool.NullPool)
            with engine.connect() as connection:
                for name in SERVICES:
                    connection.execute(sa.text(f'DROP ROLE IF EXISTS "{prefix}{name}"'))
            engine.dispose()
