"""Field types shared by every event schema."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


class Timestamp(fields.DateTime):
    """RFC 3339 in UTC with a `Z`, read back as an aware datetime."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            value = self._deserialize(value, attr, obj)
        return format_timestamp(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime):
            moment = value
        else:
            try:
                moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                raise ValidationError("Not a valid RFC 3339 timestamp.") from None
        if moment.tzinfo is None:
            raise ValidationError("Timestamp needs a time zone.")
        return moment.astimezone(timezone.utc)


class Id(fields.String):
    """A UUID kept as its canonical string."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return str(uuid.UUID(text))
        except ValueError:
            raise ValidationError("Not a valid UUID.") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Day(fields.Date):
    """A `YYYY-MM-DD` date; accepts a date or its text when dumping."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, str):
            value = date.fromisoformat(value)
        return super()._serialize(value, attr, obj, **kwargs)


def Money(*, minimum: int | None = 0, maximum: int | None = None, **kwargs) -> fields.Integer:
    """An amount in integer cents: 7.5, "700" and true are refused, not coerced; never below `minimum`."""
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


def Bps() -> fields.Integer:
    return fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10000))


class EventSchema(Schema):
    """Tolerant reader: fields a newer producer adds are ignored, never an error."""

    class Meta:
        unknown = EXCLUDE
