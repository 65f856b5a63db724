"""Identifiers: every row, event and request gets a random UUID, in its canonical text form."""
from __future__ import annotations

import uuid


def new_id() -> str:
    return str(uuid.uuid4())
