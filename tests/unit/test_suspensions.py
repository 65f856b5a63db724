"""The kit's suspended accounts: every service follows the two events, its own handler after the kit's step."""
from __future__ import annotations

import dataclasses

from sqlalchemy import MetaData

from marketplace.registry import BY_NAME, NAMES
from shared.events import ACCOUNT_REINSTATED, ACCOUNT_SUSPENDED
from shared.service import Service
from shared.suspensions import KIT_STEPS, forget, remember, with_kit_steps


def toy(**kwargs) -> Service:
    return Service(name="toy", metadata=MetaData(), migrations=None, **kwargs)


def own(event, uow):
    """The toy's own reaction."""


class TestKitSteps:
    def test_a_service_without_handlers_follows_both_events_with_the_kits(self):
        assert toy().handlers == {ACCOUNT_SUSPENDED: remember, ACCOUNT_REINSTATED: forget}

    def test_its_own_handler_runs_after_the_kits_step(self):
        calls = []
        service = toy(handlers={ACCOUNT_SUSPENDED: lambda event, uow: calls.append("own")})
        composed = service.handlers[ACCOUNT_SUSPENDED]
        assert composed.kit_step is remember

        class Session:
            def get(self, *_):
                calls.append("kit")
                return object()  # already listed: nothing to add

        composed(type("E", (), {"data": {"user_id": "u", "reason": "r"}})(), type("U", (), {"session": Session()})())
        assert calls == ["kit", "own"]

    def test_a_copy_of_a_service_is_not_given_the_steps_twice(self):
        service = toy(handlers={ACCOUNT_SUSPENDED: own, "a.b.c": own})
        copied = dataclasses.replace(service, name="copy")
        assert copied.handlers[ACCOUNT_SUSPENDED] is service.handlers[ACCOUNT_SUSPENDED]
        assert copied.handlers[ACCOUNT_SUSPENDED].__wrapped__ is own and copied.handlers["a.b.c"] is own
        assert with_kit_steps(copied.handlers) == copied.handlers

    def test_the_owner_of_the_accounts_answers_from_its_own_table_and_follows_nothing(self):
        assert toy(suspended=lambda session, user_id: False).handlers == {}

    def test_every_service_of_the_application_refuses_suspended_accounts(self):
        import importlib

        for name in NAMES:
            service = importlib.import_module(BY_NAME[name].module).SERVICE
            if service.suspended is None:
                assert set(KIT_STEPS) <= set(service.handlers), name
            else:
                assert ACCOUNT_SUSPENDED not in service.handlers, name
