"""State machines as data: one table of allowed moves per aggregate."""
from __future__ import annotations

from typing import Mapping

from shared.errors import IllegalTransition


class StateMachine:
    def __init__(self, name: str, transitions: Mapping[str, set[str] | frozenset[str]]):
        self.name = name
        self.transitions = {source: frozenset(targets) for source, targets in transitions.items()}

    def can(self, source: str, target: str) -> bool:
        return target in self.transitions.get(source, frozenset())

    def check(self, source: str, target: str) -> str:
        if not self.can(source, target):
            raise IllegalTransition(f"{self.name} is {source}; it cannot become {target}",
                                    state=source, target=target)
        return target

    def apply(self, obj, target: str, attribute: str = "status") -> None:
        """Move `obj` to `target`, or raise a conflict naming both states."""
        setattr(obj, attribute, self.check(getattr(obj, attribute), target))
