"""Every state table of every service: no move to an unknown state, and every life can end."""
from __future__ import annotations

import importlib

import pytest

from marketplace.registry import BY_NAME, NAMES as SERVICES
from shared.states import StateMachine


def states_module(service: str):
    return importlib.import_module(f"{BY_NAME[service].module}.states")


def machines() -> list:
    found = []
    for service in SERVICES:
        module = states_module(service)
        for name, value in vars(module).items():
            if isinstance(value, StateMachine):
                found.append(pytest.param(value, id=f"{service}.{name}"))
    return found


MACHINES = machines()


@pytest.fixture(params=MACHINES)
def machine(request) -> StateMachine:
    return request.param


def known(machine: StateMachine) -> set[str]:
    return set(machine.transitions) | set(machine.end)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_keeps_its_states_in_a_table(service):
    module = states_module(service)
    assert any(isinstance(value, StateMachine) for value in vars(module).values())


class TestStateTables:
    def test_every_target_is_a_known_state(self, machine):
        unknown = {target for targets in machine.transitions.values() for target in targets} - known(machine)

        assert not unknown, f"{machine.name}: moves to {sorted(unknown)}, which are neither in the table nor ends"

    def test_every_end_state_is_a_known_state(self, machine):
        assert machine.end, f"{machine.name} names no end state"
        assert set(machine.end) <= set(machine.states)

    def test_the_states_are_every_state_of_the_table_once(self, machine):
        assert len(machine.states) == len(set(machine.states))
        assert set(machine.states) == known(machine)

    def test_every_state_that_is_not_an_end_can_reach_one(self, machine):
        stuck = [state for state in machine.states if state not in machine.end and not self.ends(machine, state)]

        assert not stuck, f"{machine.name}: no way to an end state from {stuck}"

    @staticmethod
    def ends(machine: StateMachine, start: str) -> bool:
        seen, frontier = {start}, [start]
        while frontier:
            for target in machine.transitions.get(frontier.pop(), ()):
                if target in machine.end:
                    return True
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        return False


def test_every_service_states_module_was_searched():
    assert len(MACHINES) >= 8  # jobs 2, contracts 2, payments 2, reviews 2 today; users joins them
