"""Every event type survives the trip through its envelope; producers are strict, readers tolerant."""
from __future__ import annotations

import json

import pytest

from shared.events import CATALOG, Envelope, UndecodableMessage, schema_for
from shared.ids import new_id
from tests.kit.helpers import REGISTERED, registered, sample_data

EVENT_TYPES = sorted(type_ for type_, version in CATALOG)


def envelope_of(type_: str, data: dict, **overrides) -> Envelope:
    """An envelope built by hand, as a producer of another version (or a broken one) might send it."""
    fields = {"type": type_, "data": data, "producer": "kit", "correlation_id": new_id(), **overrides}
    return Envelope(**fields)


class TestEnvelopeRoundTrip:
    @pytest.mark.parametrize("type_", EVENT_TYPES)
    def test_data_comes_back_unchanged(self, type_):
        data = sample_data(schema_for(type_))
        correlation = new_id()

        sent = Envelope.new(type_, data, producer="kit", correlation_id=correlation, causation_id=new_id())
        received = Envelope.from_json(sent.to_json())

        assert received == sent
        assert received.correlation_id == correlation
        assert received.load() == data

    @pytest.mark.parametrize("type_", EVENT_TYPES)
    def test_fields_a_newer_producer_added_are_ignored(self, type_):
        data = sample_data(schema_for(type_))
        newer = envelope_of(type_, {**schema_for(type_).dump(data), "added_in_a_later_version": {"any": "thing"}})

        loaded = Envelope.from_json(newer.to_json()).load()

        assert "added_in_a_later_version" not in loaded
        assert loaded == data

    @pytest.mark.parametrize("type_", EVENT_TYPES)
    def test_a_missing_required_field_is_refused_by_the_producer(self, type_):
        schema = schema_for(type_)
        required = [name for name, field in schema.fields.items() if field.required]
        assert required, f"{type_} has no required field"
        for name in required:
            data = sample_data(schema)
            del data[name]
            with pytest.raises(ValueError, match=name):
                Envelope.new(type_, data, producer="kit", correlation_id=new_id())

    def test_the_catalog_covers_every_producer(self):
        assert {type_.split(".")[0] for type_ in EVENT_TYPES} == {"users", "jobs", "contracts", "payments", "reviews",
                                                                       "messages"}


class TestWhatAReaderRefuses:
    def test_an_unknown_type_cannot_be_emitted(self):
        with pytest.raises(UndecodableMessage, match="unknown event type"):
            Envelope.new("users.user.teleported", {}, producer="kit", correlation_id="c")

    def test_an_unknown_version_does_not_load(self):
        future = envelope_of(REGISTERED, registered(), version=2)

        with pytest.raises(UndecodableMessage, match="version 2"):
            Envelope.from_json(future.to_json()).load()

    def test_data_failing_its_schema_does_not_load(self):
        broken = envelope_of(REGISTERED, registered(user_id="not-a-uuid"))

        with pytest.raises(UndecodableMessage, match="fails its schema"):
            Envelope.from_json(broken.to_json()).load()

    @pytest.mark.parametrize("body", [
        b"\xff\xfe not even text",
        b"not json",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b'{"hello": "world"}',
        json.dumps({"type": REGISTERED, "data": [], "producer": "kit", "version": 1,
                    "id": new_id(), "occurred_at": "2026-01-01T00:00:00Z"}).encode(),
        json.dumps({"type": REGISTERED, "data": {}, "producer": "kit", "version": 1,
                    "id": "not-a-uuid", "occurred_at": "2026-01-01T00:00:00Z"}).encode(),
        *(json.dumps({"type": REGISTERED, "data": {}, "producer": "kit", "version": version,
                      "id": new_id(), "occurred_at": "2026-01-01T00:00:00Z"}).encode()
          for version in ("one", "1", "\u0661", 1.0, True)),
    ], ids=["binary", "text", "array", "string", "null", "object", "data-not-object", "bad-id", "bad-version",
            "version-as-text", "version-in-arabic-indic-digits", "version-as-float", "version-as-boolean"])
    def test_a_body_that_is_not_an_envelope_is_undecodable(self, body):
        with pytest.raises(UndecodableMessage):
            Envelope.from_json(body)


class TestTotalDecoding:
    """Whatever a body makes the parser raise, decoding says "undecodable", never anything else."""

    @pytest.mark.parametrize("body", [
        "[" * 100_000 + "]" * 100_000,
        envelope_of(REGISTERED, registered(), occurred_at="99999-01-01T00:00:00Z").to_json(),
        envelope_of(REGISTERED, registered(), occurred_at="0001-01-01T00:00:00+01:00").to_json(),
        envelope_of(REGISTERED, registered(), occurred_at="2026-01-01T00:00:00").to_json(),
        envelope_of(REGISTERED, registered()).to_json().replace('"version":1', '"version":' + "9" * 5000),
    ], ids=["nested-too-deep", "year-99999", "before-year-1-in-utc", "no-time-zone", "integer-too-long"])
    def test_a_body_that_breaks_the_parser_is_undecodable(self, body):
        with pytest.raises(UndecodableMessage):
            Envelope.from_json(body)

    @pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59",
                                        "99999-01-01T00:00:00Z", 10 ** 300])
    def test_data_with_a_timestamp_out_of_range_does_not_load(self, moment):
        type_ = "payments.escrow.released"
        data = {**json.loads(json.dumps(sample_data(schema_for(type_)), default=str)), "available_at": moment}

        with pytest.raises(UndecodableMessage):
            envelope_of(type_, data).load()

    @pytest.mark.parametrize("text", ["Logo\x00design", "Logo \ud800 design"], ids=["nul", "lone-surrogate"])
    def test_data_with_text_no_database_can_store_does_not_load(self, text):
        """A consumer would fail on the insert, again at every redelivery: the schema refuses it first."""
        with pytest.raises(UndecodableMessage, match="name"):
            envelope_of(REGISTERED, {**registered(), "name": text}).load()


class TestRetriesHeader:
    @pytest.mark.parametrize("value, count", [(None, 0), ("", 0), (0, 0), (3, 3), ("2", 2), (b"1", 1), (1000, 1000)])
    def test_a_count_is_read(self, value, count):
        from shared.consumer import read_retries

        assert read_retries(value) == count

    @pytest.mark.parametrize("value", ["abc", -1, "-1", "1e400", "9" * 5000, 2 ** 62, 1.5, True, [1], {"n": 1}, "١"])
    def test_anything_else_is_undecodable(self, value):
        from shared.consumer import read_retries

        with pytest.raises(UndecodableMessage, match="x-retries header"):
            read_retries(value)
