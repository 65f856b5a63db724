"""Request and response bodies of the users API."""
from __future__ import annotations

import pycountry
from marshmallow import ValidationError, fields, post_load, validate, validates

from shared.http.schemas import Email, InSchema, Money, OutSchema, PageArgs, String, Timestamp

SELF_ROLES = ("client", "freelancer")


def country_code(value: str) -> None:
    if pycountry.countries.get(alpha_2=value.upper()) is None or len(value) != 2:
        raise ValidationError("Not an ISO 3166 alpha-2 country code.")


class Country(String):
    def __init__(self, **kwargs):
        super().__init__(validate=country_code, allow_none=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return text.upper() if text else text


def Trimmed(**kwargs) -> String:
    """A string without its surrounding spaces, so length rules see what is stored ("  " is empty)."""
    return String(strip=True, **kwargs)


class ProfileIn(InSchema):
    title = String(allow_none=True, validate=validate.Length(max=200))
    bio = String(allow_none=True, validate=validate.Length(max=5000))
    hourly_rate = Money(maximum=100_000_000, allow_none=True)
    # A skill's key is its lower-cased text, kept in a column as long as the skill's.
    skills = fields.List(String(strip=True, folded=True, validate=validate.Length(min=1, max=50)),
                         validate=validate.Length(max=50))


class RegisterIn(InSchema):
    # The email's key (how it is looked up) is its lower-cased text, in a column as long as the email's.
    email = Email(required=True, folded=True, validate=validate.Length(max=320))
    password = String(required=True, load_only=True, validate=validate.Length(min=10, max=128))
    name = Trimmed(required=True, validate=validate.Length(min=1, max=100))
    roles = fields.List(String(), required=True, validate=validate.Length(min=1))
    country = Country(load_default=None)

    @validates("roles")
    def _self_assignable(self, roles, **_):
        if "admin" in roles:
            raise ValidationError("admin can never be self-assigned.")
        unknown = sorted(set(roles) - set(SELF_ROLES))
        if unknown:
            raise ValidationError(f"Roles must be among {', '.join(SELF_ROLES)}; not {', '.join(unknown)}.")

    @post_load
    def _normalize(self, data, **_):
        data["roles"] = sorted(set(data["roles"]))
        return data


class UpdateMeIn(InSchema):
    name = Trimmed(validate=validate.Length(min=1, max=100))
    country = Country()
    profile = fields.Nested(ProfileIn)


class TokenIn(InSchema):
    email = String(required=True, validate=validate.Length(max=320))
    password = String(required=True, load_only=True, validate=validate.Length(max=1024))


class SuspendIn(InSchema):
    reason = Trimmed(required=True, validate=validate.Length(min=1, max=1000))


class UserSearchArgs(PageArgs):
    role = String(validate=validate.OneOf(SELF_ROLES))
    skill = String(strip=True, folded=True, validate=validate.Length(min=1, max=50))
    q = String(validate=validate.Length(min=1, max=200))


class ProfileOut(OutSchema):
    title = fields.String(allow_none=True)
    bio = fields.String(allow_none=True)
    hourly_rate = Money(allow_none=True)
    skills = fields.List(fields.String())


class PublicUserOut(OutSchema):
    id = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    country = fields.String(allow_none=True)
    status = fields.String()
    profile = fields.Nested(ProfileOut)
    created_at = Timestamp()


class UserOut(PublicUserOut):
    email = fields.String()


class TokenOut(OutSchema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class PublicUserPage(OutSchema):
    items = fields.List(fields.Nested(PublicUserOut))
    next_cursor = fields.String(allow_none=True)
