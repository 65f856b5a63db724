"""The event catalog's generator and compatibility rule, on a small made-up catalog: no I/O."""
from __future__ import annotations

import json
from dataclasses import fields as dataclass_fields
from pathlib import Path

import jsonschema
import pytest
from apispec.ext.marshmallow.field_converter import DEFAULT_FIELD_MAPPING
from marshmallow import fields, validate
from referencing import Registry
from referencing.jsonschema import DRAFT7

from shared.events import Envelope
from shared.ids import new_id
from shared.events.asyncapi import ENVELOPE, breaking_changes, build_document, data_schema, event_schemas
from shared.events.fields import Day, EventSchema, Id, Money, Timestamp

ASYNCAPI_SCHEMA = Path(__file__).resolve().parents[2] / "deploy" / "schemas" / "asyncapi-3.0.0.json"


class Line(EventSchema):
    sku = fields.String(required=True)
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=99))


class OrderPlaced(EventSchema):
    order_id = Id(required=True)
    placed_at = Timestamp(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(["web", "phone"]))
    total = Money(required=True)
    note = fields.String(allow_none=True, load_default=None)
    lines = fields.List(fields.Nested(Line), required=True, validate=validate.Length(min=1, max=20))


class OrderPlacedV2(OrderPlaced):
    currency = fields.String(required=True)


class OrderShipped(EventSchema):
    """The parcel left the
    warehouse."""

    order_id = Id(required=True)
    on = Day(required=True)


CATALOG = {("shop.order.placed", 1): OrderPlaced, ("shop.order.placed", 2): OrderPlacedV2,
           ("shop.order.shipped", 1): OrderShipped, ("stock.item.counted", 1): OrderShipped}
SUBSCRIPTIONS = {"shop": [], "stock": ["shop.order.placed"], "mail": ["shop.order.placed", "shop.order.shipped"]}


@pytest.fixture(scope="module")
def document() -> dict:
    return build_document(CATALOG, SUBSCRIPTIONS, title="Shop events", version="1.2.3", description="A shop.")


@pytest.fixture(scope="module")
def asyncapi_schema() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))


def payload_validator(document: dict, message: str) -> jsonschema.Draft7Validator:
    """A validator for one message's payload, its `$ref`s resolved inside the document."""
    registry = Registry().with_resource("urn:document", DRAFT7.create_resource(document))
    return jsonschema.Draft7Validator({"$ref": f"urn:document#/components/messages/{message}/payload"},
                                      registry=registry)


def local_refs(node) -> list[str]:
    if isinstance(node, dict):
        return [ref for key, value in node.items() for ref in ([value] if key == "$ref" else local_refs(value))]
    if isinstance(node, list):
        return [ref for value in node for ref in local_refs(value)]
    return []


def resolve(document: dict, ref: str):
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


class TestDataSchema:
    def test_ids_times_and_days_keep_their_formats(self):
        placed, shipped = data_schema(OrderPlaced)["properties"], data_schema(OrderShipped)["properties"]
        assert placed["order_id"] == {"type": "string", "format": "uuid"}
        assert placed["placed_at"] == {"type": "string", "format": "date-time"}
        assert shipped["on"] == {"type": "string", "format": "date"}

    def test_money_is_integer_cents_and_choices_are_an_enum(self):
        placed = data_schema(OrderPlaced)["properties"]
        # No larger than the BIGINT column an amount is kept in.
        assert placed["total"] == {"type": "integer", "minimum": 0, "maximum": 2 ** 63 - 1}
        assert placed["channel"] == {"type": "string", "enum": ["web", "phone"]}

    def test_an_optional_field_may_be_null_and_is_not_required(self):
        schema = data_schema(OrderPlaced)
        assert schema["properties"]["note"]["type"] == ["string", "null"]
        assert "note" not in schema["required"]
        assert set(schema["required"]) == {"order_id", "placed_at", "channel", "total", "lines"}

    def test_nested_schemas_are_inlined_with_their_bounds(self):
        lines = data_schema(OrderPlaced)["properties"]["lines"]
        assert lines["type"] == "array" and (lines["minItems"], lines["maxItems"]) == (1, 20)
        assert lines["items"]["properties"]["quantity"] == {"type": "integer", "minimum": 1, "maximum": 99}
        assert "$ref" not in json.dumps(lines)

    def test_what_the_schema_dumps_is_valid_and_a_wrong_type_is_not(self):
        checker = jsonschema.Draft7Validator(data_schema(OrderPlaced), format_checker=jsonschema.FormatChecker())
        good = OrderPlaced().dump({"order_id": new_id(), "placed_at": "2026-01-02T03:04:05Z",
                                   "channel": "web", "total": 1200, "lines": [{"sku": "a", "quantity": 2}]})
        assert list(checker.iter_errors(good)) == []
        assert list(checker.iter_errors({**good, "total": "12.00"}))

    def test_apispec_shared_field_table_is_left_alone(self):
        data_schema(OrderPlaced)
        assert Id not in DEFAULT_FIELD_MAPPING

    def test_event_schemas_are_keyed_by_type_then_version(self):
        schemas = event_schemas(CATALOG)
        assert list(schemas) == ["shop.order.placed", "shop.order.shipped", "stock.item.counted"]
        assert list(schemas["shop.order.placed"]) == ["1", "2"]
        assert "currency" in schemas["shop.order.placed"]["2"]["properties"]


class TestDocument:
    def test_it_is_valid_against_the_asyncapi_3_schema(self, document, asyncapi_schema):
        errors = sorted(asyncapi_schema.iter_errors(document), key=lambda error: error.json_path)
        assert not errors, "\n".join(f"{error.json_path}: {error.message[:200]}" for error in errors)

    def test_the_vendored_schema_catches_a_broken_document(self, document, asyncapi_schema):
        broken = json.loads(json.dumps(document))
        broken["components"]["channelBindings"]["exchange"]["amqp"]["exchange"]["type"] = "sometimes"
        assert not asyncapi_schema.is_valid(broken)
        assert not asyncapi_schema.is_valid({**document, "asyncapi": "2.6.0"})

    def test_every_local_reference_resolves(self, document):
        refs = local_refs(document)
        assert refs
        for ref in refs:
            assert ref.startswith("#/"), ref
            resolve(document, ref)

    def test_a_channel_per_type_and_version_addressed_by_its_routing_key(self, document):
        channels = document["channels"]
        assert set(channels) == {"shop.order.placed.v1", "shop.order.placed.v2", "shop.order.shipped.v1",
                                 "stock.item.counted.v1"}
        assert channels["shop.order.placed.v2"]["address"] == "shop.order.placed"
        exchange = resolve(document, channels["shop.order.placed.v2"]["bindings"]["$ref"])["amqp"]
        assert exchange["is"] == "routingKey"
        assert exchange["exchange"] == {"name": "marketplace.events", "type": "topic", "durable": True,
                                        "autoDelete": False}

    def test_the_producer_sends_and_every_subscriber_receives_each_version(self, document):
        operations = {(op["action"], op["tags"][0]["name"], op["channel"]["$ref"].rsplit("/", 1)[1])
                      for op in document["operations"].values()}
        assert operations == {
            ("send", "shop", "shop.order.placed.v1"), ("send", "shop", "shop.order.placed.v2"),
            ("send", "shop", "shop.order.shipped.v1"), ("send", "stock", "stock.item.counted.v1"),
            ("receive", "stock", "shop.order.placed.v1"), ("receive", "stock", "shop.order.placed.v2"),
            ("receive", "mail", "shop.order.placed.v1"), ("receive", "mail", "shop.order.placed.v2"),
            ("receive", "mail", "shop.order.shipped.v1"),
        }
        receive = document["operations"]["mail.receive.shop.order.shipped.v1"]
        assert "`mail.events`" in receive["description"] and "`mail.dead`" in receive["description"]

    def test_a_schema_docstring_is_the_message_summary(self, document):
        messages = document["components"]["messages"]
        assert messages["shop.order.shipped.v1"]["summary"] == "The parcel left the warehouse."
        assert "summary" not in messages["shop.order.placed.v1"]

    def test_an_event_nobody_receives_is_still_published(self, document):
        assert "no service" in document["channels"]["stock.item.counted.v1"]["summary"]

    def test_the_envelope_schema_lists_every_envelope_field(self):
        assert set(ENVELOPE["properties"]) == {field.name for field in dataclass_fields(Envelope)}

    def test_an_envelope_on_the_wire_matches_its_message_and_no_other(self, document):
        data = OrderShipped().dump({"order_id": new_id(), "on": "2026-03-04"})
        body = json.loads(Envelope("shop.order.shipped", data, "shop", new_id()).to_json())
        assert list(payload_validator(document, "shop.order.shipped.v1").iter_errors(body)) == []
        assert not payload_validator(document, "shop.order.placed.v1").is_valid(body)
        assert not payload_validator(document, "shop.order.shipped.v1").is_valid({**body, "data": {"on": 5}})

    def test_a_subscription_to_an_undeclared_type_is_refused(self):
        with pytest.raises(ValueError, match="mail subscribes to shop.order.lost"):
            build_document(CATALOG, {"mail": ["shop.order.lost"]}, title="t", version="1")


def snapshot(**properties) -> dict:
    """A one-event catalog whose data has these properties, required unless their name ends in `_opt`."""
    return {"shop.order.placed": {"1": {
        "type": "object", "properties": properties,
        "required": sorted(name for name in properties if not name.endswith("_opt")),
    }}}


ID = {"type": "string", "format": "uuid"}
AMOUNT = {"type": "integer", "minimum": 0}
CHANNEL = {"type": "string", "enum": ["web", "phone"]}
LINES = {"type": "array", "maxItems": 20, "items": {"type": "object", "properties": {"sku": {"type": "string"}},
                                                    "required": ["sku"]}}
BEFORE = snapshot(order_id=ID, total=AMOUNT, channel=CHANNEL, lines=LINES, note_opt={"type": ["string", "null"]})


class TestBreakingChanges:
    def test_the_same_schemas_break_nothing(self):
        assert breaking_changes(BEFORE, json.loads(json.dumps(BEFORE))) == []

    @pytest.mark.parametrize("after", [
        snapshot(order_id=ID, total=AMOUNT, channel=CHANNEL, lines=LINES, note_opt={"type": ["string", "null"]},
                 coupon_opt={"type": "string"}),
        snapshot(order_id=ID, total={"type": "integer"}, channel={"type": "string", "enum": ["web", "phone", "app"]},
                 lines={**LINES, "maxItems": 50}, note_opt={"type": ["string", "null"]}),
        {**BEFORE, "shop.order.shipped": {"1": {"type": "object"}}},
        {"shop.order.placed": {**BEFORE["shop.order.placed"], "2": {"type": "object"}}},
    ], ids=["an optional field", "wider values and bounds", "a new event", "a new version"])
    def test_additions_pass(self, after):
        assert breaking_changes(BEFORE, after) == []

    @pytest.mark.parametrize("change, after, expected", [
        ("removed field", snapshot(order_id=ID, channel=CHANNEL, lines=LINES, note_opt={"type": ["string", "null"]}),
         "field `total` was removed"),
        ("retyped field", snapshot(order_id=ID, total={"type": "string"}, channel=CHANNEL, lines=LINES,
                                   note_opt={"type": ["string", "null"]}),
         "field `total` changed type from integer to string"),
        ("new format", snapshot(order_id={"type": "string"}, total=AMOUNT, channel=CHANNEL, lines=LINES,
                                note_opt={"type": ["string", "null"]}),
         "field `order_id` changed format from uuid to none"),
        ("null no longer allowed", snapshot(order_id=ID, total=AMOUNT, channel=CHANNEL, lines=LINES,
                                            note_opt={"type": "string"}),
         "field `note_opt` changed type from null or string to string"),
        ("renamed field", snapshot(order_id=ID, total=AMOUNT, channel=CHANNEL, lines=LINES,
                                   note={"type": ["string", "null"]}),
         "field `note_opt` was removed"),
        ("new required field", snapshot(order_id=ID, total=AMOUNT, channel=CHANNEL, lines=LINES,
                                        note_opt={"type": ["string", "null"]}, coupon={"type": "string"}),
         "field `coupon` is new and required"),
        ("fewer choices", snapshot(order_id=ID, total=AMOUNT, channel={"type": "string", "enum": ["web"]},
                                   lines=LINES, note_opt={"type": ["string", "null"]}),
         "field `channel` no longer allows phone"),
        ("narrower bound", snapshot(order_id=ID, total={"type": "integer", "minimum": 1}, channel=CHANNEL,
                                    lines=LINES, note_opt={"type": ["string", "null"]}),
         "field `total` narrowed its minimum from 0 to 1"),
        ("nested field retyped", snapshot(order_id=ID, total=AMOUNT, channel=CHANNEL,
                                          note_opt={"type": ["string", "null"]},
                                          lines={**LINES, "items": {**LINES["items"], "properties": {"sku": ID}}}),
         "field `lines[].sku` changed format from none to uuid"),
        ("version removed", {"shop.order.placed": {"2": BEFORE["shop.order.placed"]["1"]}},
         "the event version was removed"),
    ])
    def test_a_breaking_change_names_the_event_and_the_field(self, change, after, expected):
        problems = breaking_changes(BEFORE, after)
        assert any(problem.startswith("shop.order.placed v1: ") and expected in problem for problem in problems), \
            problems

    def test_making_an_optional_field_required_is_named_as_such(self):
        before = snapshot(order_id=ID, note_opt={"type": "string"})
        after = {"shop.order.placed": {"1": {**before["shop.order.placed"]["1"], "required": ["order_id", "note_opt"]}}}
        assert breaking_changes(before, after) == ["shop.order.placed v1: field `note_opt` became required"]

    def test_making_a_required_field_optional_is_breaking_too(self):
        after = {"shop.order.placed": {"1": {**BEFORE["shop.order.placed"]["1"], "required": ["order_id"]}}}
        problems = breaking_changes(BEFORE, after)
        assert "shop.order.placed v1: field `total` is no longer required: readers of this version count on it" \
            in problems
