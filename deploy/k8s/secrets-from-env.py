"""Make the Kubernetes Secrets of deploy/k8s from the same .env file docker compose reads.

    python deploy/k8s/secrets-from-env.py [--namespace NS] [--no-infra] [--rabbitmq-host H]
                                          [--postgres-host H] .env | kubectl apply -f -

Prints a v1 List (JSON) of Secrets; nothing is written to disk:
- marketplace-jwt: JWT_PUBLIC_KEY (every service) and JWT_PRIVATE_KEY (users-api only);
- marketplace-<service>: that service's own AMQP_URL and DATABASE_URL (its broker user and its
  database role), plus ADMIN_EMAIL/ADMIN_PASSWORD for users;
- marketplace-operator: the operator's AMQP_URL (the migration Job's `topology`, `marketplace dlq`);
- marketplace-rabbitmq and marketplace-postgres (unless --no-infra): the passwords the in-cluster
  RabbitMQ and PostgreSQL of deploy/k8s/infra are set up with.
With a broker or databases run elsewhere (overlays/production), pass their hosts, or write the
Secrets yourself with the same names and keys. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import sys

SERVICES = ("users", "jobs", "contracts", "payments", "reviews", "messages")


def read_env(path: str) -> dict[str, str]:
    values = {}
    with open(path, encoding="utf-8") as source:
        for line in source:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            name, value = line.split("=", 1)
            name, value = name.strip().removeprefix("export "), value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[name] = value
    return values


def secret(name: str, namespace: str | None, data: dict[str, str]) -> dict:
    metadata = {"name": name, "labels": {"app.kubernetes.io/part-of": "marketplace"}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "stringData": data}


def secrets(env: dict[str, str], namespace: str | None = None, *, infra: bool = True,
            rabbitmq_host: str = "rabbitmq:5672", postgres_host: str = "postgres:5432") -> dict:
    def need(name: str) -> str:
        if not env.get(name):
            raise SystemExit(f"secrets-from-env: {name} is not set")
        return env[name]

    def pem(name: str) -> str:  # .env writes a PEM on one line with \n; a Secret holds the real lines
        return need(name).replace("\\n", "\n").strip() + "\n"

    items = [secret("marketplace-jwt", namespace, {"JWT_PUBLIC_KEY": pem("JWT_PUBLIC_KEY"),
                                                   "JWT_PRIVATE_KEY": pem("JWT_PRIVATE_KEY")})]
    for service in SERVICES:
        upper = service.upper()
        data = {
            "AMQP_URL": f"amqp://{service}:{need(f'RABBITMQ_{upper}_PASSWORD')}@{rabbitmq_host}/marketplace",
            "DATABASE_URL": (f"postgresql://marketplace_{service}:{need(f'POSTGRES_{upper}_PASSWORD')}"
                             f"@{postgres_host}/marketplace_{service}"),
        }
        if service == "users":
            data.update({k: env[k] for k in ("ADMIN_EMAIL", "ADMIN_PASSWORD") if env.get(k)})
        items.append(secret(f"marketplace-{service}", namespace, data))
    items.append(secret("marketplace-operator", namespace, {
        "AMQP_URL": f"amqp://operator:{need('RABBITMQ_OPERATOR_PASSWORD')}@{rabbitmq_host}/marketplace"}))
    if infra:
        broker = ["RABBITMQ_OPERATOR_PASSWORD"] + [f"RABBITMQ_{service.upper()}_PASSWORD" for service in SERVICES]
        databases = ["POSTGRES_PASSWORD"] + [f"POSTGRES_{service.upper()}_PASSWORD" for service in SERVICES]
        items.append(secret("marketplace-rabbitmq", namespace, {name: need(name) for name in broker}))
        items.append(secret("marketplace-postgres", namespace, {name: need(name) for name in databases}))
    return {"apiVersion": "v1", "kind": "List", "items": items}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("env_file")
    parser.add_argument("--namespace")
    parser.add_argument("--no-infra", action="store_true", help="omit marketplace-rabbitmq and marketplace-postgres (broker and databases run elsewhere)")
    parser.add_argument("--rabbitmq-host", default="rabbitmq:5672", help="host:port of RabbitMQ")
    parser.add_argument("--postgres-host", default="postgres:5432", help="host:port of PostgreSQL")
    args = parser.parse_args(argv)
    made = secrets(read_env(args.env_file), args.namespace, infra=not args.no_infra,
                   rabbitmq_host=args.rabbitmq_host, postgres_host=args.postgres_host)
    json.dump(made, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
