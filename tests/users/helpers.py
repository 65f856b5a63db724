"""What the users stories share besides fixtures: request bodies, the outbox, a wire observer."""
from __future__ import annotations

import threading
import uuid
from typing import Any, Callable

import sqlalchemy as sa

from shared.events import Envelope
from shared.tables import OutboxRow

PASSWORD = "correct horse battery"


def new_account(**overrides) -> dict:
    """A registration body with a unique email; any field can be overridden."""
    return {"email": f"{uuid.uuid4().hex[:12]}@example.com", "password": PASSWORD, "name": "Ada Lovelace",
            "roles": ["client"], **overrides}


def at_once(count: int, action: Callable[[int], Any]) -> list:
    """`action(0)` … `action(count - 1)` in threads released together: their results, or what they raised."""
    start, results = threading.Barrier(count), []

    def run(number: int) -> None:
        start.wait()
        try:
            results.append(action(number))
        except Exception as error:  # noqa: BLE001 - handed to the story to judge
            results.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def outbox(service, type_: str) -> list[Envelope]:
    """The events of `type_` the service wrote to its outbox, oldest first."""
    with service.runtime.db.transaction() as session:
        rows = session.scalars(sa.select(OutboxRow).where(OutboxRow.type == type_).order_by(OutboxRow.created_at))
        return [Envelope.from_json(row.body) for row in rows]
