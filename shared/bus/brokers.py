"""Broker URLs: `AMQP_URL` names one RabbitMQ node or several, `;`-separated, tried in turn.

`amqp://u:p@rabbit-1:5672/v;amqp://u:p@rabbit-2:5672/v;amqp://u:p@rabbit-3:5672/v` lists a cluster's
nodes: kombu (the bus, the topology) and pika (the dead-letter commands, the migration's checks) connect
to the first that answers and, when it goes away, to the next. The bus starts each process at a node
chosen at random (`spread`), so a cluster's clients spread over its nodes.
"""
from __future__ import annotations

import random
from urllib.parse import quote, unquote, urlsplit

import pika


def broker_urls(amqp_url: str) -> list[str]:
    """Every node's URL in `AMQP_URL`, in order."""
    return [url.strip() for url in amqp_url.split(";") if url.strip()]


def spread(amqp_url: str) -> str:
    """`AMQP_URL` starting at a node of its list chosen at random, so a cluster's clients spread over its nodes."""
    urls = broker_urls(amqp_url)
    start = random.randrange(len(urls)) if urls else 0
    return ";".join(urls[start:] + urls[:start]) or amqp_url


def failover_attempts(amqp_url: str) -> int:
    """How many retries a connection needs to have tried every node once (kombu moves on at each retry)."""
    return len(broker_urls(amqp_url))


def pika_parameters(url: str) -> pika.URLParameters:
    """pika's reading of one broker URL as kombu writes it: kombu spells the vhost `/` as `//`."""
    parts = urlsplit(url.replace("pyamqp://", "amqp://", 1))
    vhost = unquote(parts.path[1:]) if parts.path not in ("", "/") else "/"
    return pika.URLParameters(parts._replace(path="/" + quote(vhost, safe="")).geturl())


def pika_connection(amqp_url: str) -> pika.BlockingConnection:
    """A pika connection to the first node of `AMQP_URL` that answers."""
    return pika.BlockingConnection([pika_parameters(url) for url in broker_urls(amqp_url)])
