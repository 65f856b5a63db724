"""What jobs reads from the environment: nothing of its own yet; a new variable goes here."""
from __future__ import annotations

from dataclasses import dataclass

from shared.config import ServiceSettings


@dataclass(frozen=True)
class JobsSettings(ServiceSettings):
    pass
