"""Databases made before anything migrates or starts: `Settings.database_url()` only computes."""
from __future__ import annotations

from typing import Iterable

from shared.config import Settings
from shared.db import ensure_database, normalize_url


def create_missing(settings: Settings, names: Iterable[str]) -> None:
    """Create `marketplace_<service>` on `DATABASE_URL`'s server for each service that uses it.

    A service with its own `DATABASE_URL_<SERVICE>` is left alone (its database is provisioned
    with its role), and SQLite files are made when first opened.
    """
    for name in names:
        database, server = settings.server_database(name), settings.database_server_url
        if database is not None and server is not None:
            ensure_database(normalize_url(server), database)
