"""Base schemas: inputs reject unknown fields, outputs dump ids and money as the API promises.

An input's fields are the kit's (a test holds every service to it): `String` (no NUL or lone
surrogate; lengths checked after `strip`/`folded` normalization), `Email`, `Integer` and `Money`
(within BIGINT unless narrower), `Digits` (ASCII 0-9 only), `Id`, `Timestamp`, `Day`."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from shared.events.fields import (  # noqa: F401 - the API uses the same field types
    Day, Digits, Email, Id, Integer, Money, String, Timestamp, is_ascii_digits,
)
from shared.http.pagination import MAX_CURSOR


class InSchema(Schema):
    """A request body: unknown fields are a 422 naming them (in a query string they are ignored)."""

    class Meta:
        unknown = RAISE


class OutSchema(Schema):
    pass


class PageArgs(InSchema):
    limit = Integer(strict=False, minimum=1, maximum=100, load_default=20)
    cursor = String(load_default=None, validate=validate.Length(max=MAX_CURSOR))


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
