"""What reviews reads from the environment: how long both parties have to review an ended contract."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Mapping, Self

from shared.config import ServiceSettings, env_duration


@dataclass(frozen=True)
class ReviewsSettings(ServiceSettings):
    review_window: timedelta = timedelta(days=14)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        return cls(review_window=env_duration(env, "REVIEW_WINDOW", "14d"))
