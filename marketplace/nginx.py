"""nginx's routes for the compose gateway (deploy/nginx/routes.conf), made from the registry.

The same routes as the in-process gateway (marketplace/gateway.py): `/<segment>` and
`/<segment>/…` to the service that owns the segment, and each service's docs under
`/api/<service>`. Every service is one upstream of its API's compose name, re-resolved so that
`--scale` spreads the load, with connections kept alive. Regenerate after changing the registry:
`marketplace nginx --output deploy/nginx/routes.conf` (a test compares the two).
"""
from __future__ import annotations

from marketplace import gateway, registry

UPSTREAM_KEEPALIVE = 16
"""Idle connections each nginx worker keeps open to a service."""
UPSTREAM_IDLE = "4s"
"""How long one stays idle: under gunicorn's keep-alive (5 s), so nginx never sends a request on a
connection the API is closing."""

HEADER = """\
# Generated from marketplace/registry.py by `marketplace nginx --output deploy/nginx/routes.conf`:
# do not edit (tests/deploy/test_nginx.py fails when this file and the registry disagree).
#
# One upstream per service: every container compose runs under the API's name, looked up again
# through the resolver of nginx.conf (so `--scale <service>-api=N` spreads the load), with idle
# connections kept for the next request.
"""


def host(entry: registry.Entry) -> str:
    """The API's name on the compose network (and its port)."""
    return f"{entry.name}-api:{entry.port}"


def upstream(entry: registry.Entry) -> str:
    return (f"upstream {entry.name} {{\n"
            f"    zone {entry.name} 64k;\n"
            f"    server {host(entry)} resolve;\n"
            f"    keepalive {UPSTREAM_KEEPALIVE};\n"
            f"    keepalive_timeout {UPSTREAM_IDLE};\n"
            f"}}\n")


def locations(entry: registry.Entry) -> list[str]:
    found = [f"location ~ {path} {{ client_max_body_size {registry.UPLOAD_LIMIT}; "
             f"proxy_request_buffering off; proxy_pass http://{entry.name}; }}" for path in entry.uploads]
    for segment in entry.routes:
        found.append(f"location = /{segment} {{ proxy_pass http://{entry.name}; }}")
        found.append(f"location /{segment}/ {{ proxy_pass http://{entry.name}; }}")
    prefix = gateway.docs_prefix(entry.name)
    for path in gateway.DOCS_PATHS:
        found.append(f"location = {prefix}{path} {{ proxy_pass http://{entry.name}{path}; }}")
    found.append(f"location {prefix}/docs/ {{ proxy_pass http://{entry.name}/docs/; }}")
    return found


def render(entries: tuple[registry.Entry, ...] = registry.ENTRIES) -> str:
    """routes.conf: the upstreams, then the server with every service's locations."""
    lines = [HEADER, *(upstream(entry) for entry in entries), "server {", "    include server.conf;"]
    for entry in entries:
        lines += ["", f"    # {entry.name}", *(f"    {location}" for location in locations(entry))]
    return "\n".join(lines) + "\n}\n"
