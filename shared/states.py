"""State machines as data: one table of allowed moves per aggregate, its end states named."""
from __future__ import annotations

from typing import Iterable, Mapping

from shared.errors import IllegalTransition


class StateMachine:
    """`transitions` maps a state to the states it may become; `end` lists where a life ends.

    An end state may keep a safety move out (a cancelled milestone refunds money that arrives late).
    """

    def __init__(self, name: str, transitions: Mapping[str, Iterable[str]], end: Iterable[str]):
        self.name = name
        self.transitions = {source: frozenset(targets) for source, targets in transitions.items()}
        ends = tuple(end)
        self.end = frozenset(ends)
        # Order: sources as the table lists them, then end states as given, then any other target
        # (sorted, since a set has no order): status tuples and schema enums read the same every run.
        states = dict.fromkeys(self.transitions)
        states.update(dict.fromkeys(ends))
        for targets in self.transitions.values():
            states.update(dict.fromkeys(sorted(targets)))
        self.states: tuple[str, ...] = tuple(states)

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
