"""`python -m bench.handlers` times a story the messages worker really handles: every event taken (none
retried for want of what came before) and every party told. Nothing here is about speed."""
from __future__ import annotations

import pytest

from bench import handlers

pytestmark = pytest.mark.postgres


def test_each_event_of_the_story_is_handled_and_tells_its_parties(make_pg_database):
    measured = handlers.measure(make_pg_database("bench_handlers"), stories=2, warm_up=0)
    assert set(measured.timings) == {type_ for type_, _ in handlers.story()}
    assert measured.handled == 2 * 9
    assert measured.notifications == 2 * 10  # both parties hear of the start and the end, one party of the rest
    assert all(count > 0 for counts in measured.statements.values() for count in counts)
