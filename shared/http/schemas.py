"""Base schemas: inputs reject unknown fields, outputs dump ids and money as the API promises."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared.events.fields import Day, Id, Money, Timestamp  # noqa: F401 - the API uses the same field types


class InSchema(Schema):
    """A request body: unknown fields are a 422 naming them (in a query string they are ignored)."""

    class Meta:
        unknown = RAISE


class OutSchema(Schema):
    pass


class PageArgs(InSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(load_default=None)


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """`{"items": [...], "next_cursor": str|null}` of `item_schema`."""
    return type(f"{item_schema.__name__.removesuffix('Schema')}PageSchema", (OutSchema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "next_cursor": fields.String(allow_none=True, required=True),
    })


Currency = lambda: fields.Constant("USD", dump_only=True)  # noqa: E731 - the only currency for now


class ProblemSchema(OutSchema):
    """Every error: `application/problem+json` (RFC 9457)."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "Conflict"})
    status = fields.Integer(metadata={"example": 409})
    detail = fields.String(metadata={"example": "proposal is withdrawn; it cannot become offer_pending"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "On a 422: the messages for each invalid field."})
