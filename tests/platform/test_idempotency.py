"""`Idempotency-Key`: a retried request gets the first response again, without the work twice."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import fields

from shared.db import KitBase, utcnow
from shared.errors import Conflict
from shared.http import current_user, idempotent, require, unit_of_work
from shared.http.schemas import InSchema, OutSchema
from shared.ids import new_id
from shared.service import Service
from shared.suspensions import SuspendedAccountRow
from shared.tables import IdempotencyRow, TimerRow
from tests.support import Harness, assert_suspended_refusal

charges: list[dict] = []
REMINDER = "toy.charge.remind"
blp = Blueprint("charges", __name__, url_prefix="/charges")


class ChargeIn(InSchema):
    amount = fields.Integer(required=True)


class ChargeOut(OutSchema):
    id = fields.String()
    amount = fields.Integer()


@blp.post("")
@blp.arguments(ChargeIn)
@idempotent
@blp.response(201, ChargeOut)
@require()
def charge(body, uow):
    """A toy money-moving endpoint; its work in the database is a reminder it sets."""
    uow.schedule(REMINDER, new_id(), utcnow())
    if body["amount"] == 13:
        raise Conflict("unlucky amount")
    if body["amount"] == 500:
        raise RuntimeError("the processor fell over")
    charges.append({"id": new_id(), "amount": body["amount"], "by": current_user().id})
    return charges[-1], 201, {"Location": f"/charges/{charges[-1]['id']}"}


@blp.post("/nested")
@idempotent
@require()
def nested(uow):
    """A view that opens a unit of work of its own although it was given one."""
    with unit_of_work() as own:
        own.schedule(REMINDER, new_id(), utcnow())
    return {}, 201


SERVICE = Service(name="toy", metadata=KitBase.metadata, migrations=Path(__file__).parent / "no_migrations",
                  blueprints=(blp,))


@pytest.fixture
def api(settings, make_database):
    harness = Harness(SERVICE, settings, make_database("idem"))
    charges.clear()
    yield harness
    harness.stop()


def reminders(api) -> int:
    with api.runtime.db.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(TimerRow).where(TimerRow.kind == REMINDER))


def keys(api) -> int:
    with api.runtime.db.transaction() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRow))


def post(api, user: str, key: str | None, amount: int):
    headers = api.headers(user, ("client",))
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.client.post("/charges", json={"amount": amount}, headers=headers)


class TestIdempotencyKey:
    def test_a_retry_returns_the_first_response_and_does_the_work_once(self, api):
        user, key = new_id(), new_id()
        first, second = post(api, user, key, 700), post(api, user, key, 700)
        assert first.status_code == second.status_code == 201
        assert first.json == second.json and second.headers["Location"] == first.headers["Location"]
        assert len(charges) == 1

    def test_the_same_key_with_another_body_is_422(self, api):
        user, key = new_id(), new_id()
        post(api, user, key, 700)
        other = post(api, user, key, 800)
        assert other.status_code == 422 and "Idempotency-Key" in other.json["errors"]
        assert len(charges) == 1

    def test_keys_are_scoped_per_user(self, api):
        key = new_id()
        assert post(api, new_id(), key, 700).status_code == 201
        assert post(api, new_id(), key, 700).status_code == 201
        assert len(charges) == 2

    def test_a_request_still_running_makes_the_retry_409(self, api):
        user, key = new_id(), new_id()
        from shared.http.idempotency import _digest

        with api.runtime.db.transaction() as session:
            session.add(IdempotencyRow(scope=_digest(user, "POST", "/charges", key),
                                       request_hash=_digest(key, b'{"amount": 700}'), headers={}, created_at=utcnow()))
        assert post(api, user, key, 700).status_code == 409
        assert charges == []

    def test_the_stored_fingerprint_is_not_a_plain_hash_of_the_body(self, api):
        user, key, body = new_id(), new_id(), b'{"amount": 700}'
        made = api.client.post("/charges", data=body, content_type="application/json",
                               headers={**api.headers(user), "Idempotency-Key": key})
        assert made.status_code == 201
        from shared.http.idempotency import _digest

        with api.runtime.db.transaction() as session:
            stored = session.scalars(sa.select(IdempotencyRow.request_hash)).all()
        assert len(stored) == 1 and _digest(body) not in stored and _digest(key, body) in stored

    def test_a_4xx_is_kept_and_replayed_but_a_5xx_is_not(self, api):
        user, key = new_id(), new_id()
        assert post(api, user, key, 13).status_code == 409
        replay = post(api, user, key, 13)
        assert replay.status_code == 409 and replay.headers["Idempotent-Replayed"] == "true"
        failing = new_id()
        assert post(api, user, failing, 500).status_code == 500
        assert post(api, user, failing, 500).status_code == 500  # tried again, not replayed

    def test_without_a_key_every_request_does_the_work(self, api):
        user = new_id()
        post(api, user, None, 700)
        post(api, user, None, 700)
        assert len(charges) == 2

    def test_an_overlong_key_is_422(self, api):
        assert post(api, new_id(), "k" * 256, 700).status_code == 422

    def test_a_malformed_body_is_422_and_never_stored(self, api):
        user, key = new_id(), new_id()
        assert api.client.post("/charges", json={"amount": "lots"}, headers={
            **api.headers(user), "Idempotency-Key": key}).status_code == 422
        assert post(api, user, key, 700).status_code == 201


class TestTheViewsUnitOfWork:
    def test_the_work_and_the_kept_answer_commit_together(self, api):
        user, key = new_id(), new_id()
        assert post(api, user, key, 700).status_code == 201
        assert post(api, user, key, 700).status_code == 201
        assert (reminders(api), keys(api)) == (1, 1)

    def test_a_refusal_is_kept_but_the_work_before_it_is_undone(self, api):
        assert post(api, new_id(), new_id(), 13).status_code == 409
        assert (reminders(api), keys(api)) == (0, 1)
        assert post(api, new_id(), None, 13).status_code == 409
        assert reminders(api) == 0

    def test_a_5xx_keeps_neither_the_work_nor_the_key(self, api):
        assert post(api, new_id(), new_id(), 500).status_code == 500
        assert (reminders(api), keys(api)) == (0, 0)

    def test_without_a_key_the_view_gets_a_unit_of_work_too(self, api):
        assert post(api, new_id(), None, 700).status_code == 201
        assert (reminders(api), keys(api)) == (1, 0)

    def test_a_view_given_one_cannot_open_another(self, api):
        for key in (new_id(), None):
            headers = {**api.headers(new_id()), **({"Idempotency-Key": key} if key else {})}
            assert api.client.post("/charges/nested", headers=headers).status_code == 500
        assert (reminders(api), keys(api)) == (0, 0)


class TestSuspendedCaller:
    def test_a_require_under_idempotent_asks_in_the_given_transaction(self, api):
        """On SQLite a second transaction would wait on the first's write lock: a 503, not the 403."""
        user = new_id()
        with api.runtime.unit_of_work() as uow:
            uow.session.add(SuspendedAccountRow(user_id=user, reason="fraud"))
        assert_suspended_refusal(api.client.post("/charges", json={"amount": 5}, headers=api.headers(user)))
        assert reminders(api) == 0 and charges == []
