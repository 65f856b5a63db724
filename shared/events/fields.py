"""Field types shared by every event schema."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate


# Ranges: amounts and counts are stored as BIGINT; a number outside it is a 422, never a database error.
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1
_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]{1,30}\s*", re.ASCII)
_UNSAFE = re.compile(r"[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text anywhere (PostgreSQL refuses NUL; a lone surrogate has no UTF-8)."""
    found = _UNSAFE.search(value)
    if found is None:
        return None
    return "Must not contain a NUL character." if found.group() == "\x00" else "Must not contain a lone surrogate."


class String(fields.String):
    """Text that every database can store: NUL and lone surrogates are refused.

    `strip=True` removes surrounding white space before the length rules run; `folded=True` says the
    service also stores the lower-cased text (an email key, a skill key), so the length rules must hold
    for it too (`"İ".lower()` is two code points)."""

    def __init__(self, *, strip: bool = False, folded: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.strip, self.folded = strip, folded

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text)
        if problem:
            raise ValidationError(problem)
        if self.strip:
            text = text.strip()
        if self.folded:
            lowered = text.lower()
            for validator in self.validators:
                if isinstance(validator, validate.Length):
                    validator(lowered)
        return text


class Email(String, fields.Email):
    """An address as `fields.Email` checks (and documents) it, on the safe `String`."""


class Integer(fields.Integer):
    """A whole number within the database's BIGINT range (or the narrower one given): true and 7.5 are refused."""

    def __init__(self, *, minimum: int | None = INT_MIN, maximum: int | None = INT_MAX, strict: bool = True, **kwargs):
        low = INT_MIN if minimum is None else max(minimum, INT_MIN)
        high = INT_MAX if maximum is None else min(maximum, INT_MAX)
        validators = kwargs.pop("validate", None) or []
        validators = [validators] if callable(validators) else list(validators)
        super().__init__(strict=strict, validate=[validate.Range(min=low, max=high), *validators], **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str) and not _INTEGER_TEXT.fullmatch(value):
            raise self.make_error("invalid")  # int() takes "٤٠", "1_000" and 5000 digits: none of them here
        return super()._deserialize(value, attr, data, **kwargs)


class Digits(String):
    """ASCII digits only, `length` of them or `minimum` to `maximum`: `str.isdigit()` and `int()` also
    take Arabic-Indic and other digits, which must never reach a processor or a bank, nor be stored."""

    def __init__(self, *, length: int | None = None, minimum: int | None = None, maximum: int | None = None,
                 **kwargs):
        validators = kwargs.pop("validate", None) or []
        validators = [validators] if callable(validators) else list(validators)
        size = validate.Length(equal=length) if length is not None else validate.Length(min=minimum, max=maximum)
        super().__init__(validate=[size, *validators], **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_ascii_digits(text):
            raise ValidationError("Digits only (0-9).")
        return text


def is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


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
        try:
            return moment.astimezone(timezone.utc)
        except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC time
            raise ValidationError("Timestamp out of range.") from None


class Id(String):
    """A UUID kept as its canonical string."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            if len(text) > 45:
                raise ValueError(text)
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
    """An amount in integer cents: 7.5, "700" and true are refused, not coerced; never below `minimum`
    nor past what a BIGINT column holds."""
    return Integer(minimum=minimum, maximum=maximum, **kwargs)


def Bps() -> fields.Integer:
    return Integer(required=True, minimum=0, maximum=10000)


class EventSchema(Schema):
    """Tolerant reader: fields a newer producer adds are ignored, never an error."""

    class Meta:
        unknown = EXCLUDE
