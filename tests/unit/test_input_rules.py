"""The kit's input rules, one at a time: fields, the JSON guard, cursors (no app, no database)."""
from __future__ import annotations

import base64
import json

import pytest
from marshmallow import Schema, ValidationError, validate

from services.payments.cards import luhn_valid
from shared.errors import Unprocessable
from shared.events.fields import INT_MAX, INT_MIN, Digits, Email, Integer, Money, String, Timestamp
from shared.http.guard import MAX_DEPTH, Refused, check_json
from shared.http.pagination import decode_cursor, encode_cursor


def load(field, value):
    return type("One", (Schema,), {"f": field})().load({"f": value})["f"]


def refuses(field, value) -> str:
    with pytest.raises(ValidationError) as raised:
        load(field, value)
    return " ".join(raised.value.messages["f"])


class TestString:
    @pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x\udfff"])
    def test_refuses_what_no_database_stores(self, value):
        assert "Must not contain" in refuses(String(), value)

    def test_strips_before_the_length_rules(self):
        assert refuses(String(strip=True, validate=validate.Length(min=1)), "   ")
        assert load(String(strip=True, validate=validate.Length(max=3)), "  abc  ") == "abc"

    def test_folded_text_must_fit_lower_cased_too(self):
        field = String(folded=True, validate=validate.Length(max=50))
        assert len("İ" * 30) == 30 and len(("İ" * 30).lower()) == 60
        assert refuses(field, "İ" * 30)
        assert load(field, "İstanbul") == "İstanbul"
        assert load(String(validate=validate.Length(max=50)), "İ" * 30) == "İ" * 30  # not folded: not its rule

    def test_email_is_checked_on_its_key(self):
        assert refuses(Email(folded=True, validate=validate.Length(max=320)), "İ" * 160 + "@ex.com")
        assert refuses(Email(), "not-an-email")


class TestInteger:
    @pytest.mark.parametrize("value", [INT_MAX + 1, INT_MIN - 1, 10 ** 40, True, 7.5, "7"])
    def test_strict_refuses(self, value):
        assert refuses(Integer(), value)

    @pytest.mark.parametrize("value", ["٤٠", "1_000", "9" * 5000, str(INT_MAX + 1), "1e3", " "])
    def test_in_a_query_string_only_ascii_digits_in_range(self, value):
        assert refuses(Integer(strict=False), value)

    def test_in_a_query_string(self):
        assert load(Integer(strict=False, minimum=0), " 42 ") == 42

    def test_money_is_bounded_by_bigint_even_without_a_maximum(self):
        assert refuses(Money(), INT_MAX + 1)
        assert load(Money(), INT_MAX) == INT_MAX


class TestDigits:
    @pytest.mark.parametrize("value", ["٤٠٠٠٠٠٠٠٠", "４００００００００", "12345678\n", "1234 5678", "¹²³⁴⁵⁶⁷⁸⁹"])
    def test_only_ascii_digits(self, value):
        assert refuses(Digits(length=9) if len(value) == 9 else Digits(minimum=4, maximum=34), value)

    def test_a_routing_number(self):
        assert load(Digits(length=9), "110000000") == "110000000"

    def test_a_card_number_in_other_digits_is_not_valid(self):
        assert luhn_valid("4242424242424242")
        assert not luhn_valid("4242424242424242".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))


def test_a_timestamp_with_no_utc_time_is_refused():
    assert "out of range" in refuses(Timestamp(), "0001-01-01T00:00:00+14:00")


class TestJsonGuard:
    def test_nesting(self):
        assert check_json(("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode()) is not None
        for raw in ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "[" * 200_000):
            with pytest.raises(Refused):
                check_json(raw.encode())

    def test_brackets_in_strings_do_not_count(self):
        assert check_json(json.dumps({"a": "[" * 1000}).encode()) == {"a": "[" * 1000}

    @pytest.mark.parametrize("raw", ['{"a": ' + "1" * 5000 + "}", '{"a": NaN}', '[Infinity]', b'"\xff"',
                                     '{"a\\u0000": 1}', '["\\ud800"]', "{"])
    def test_refused(self, raw):
        with pytest.raises(Refused):
            check_json(raw if isinstance(raw, bytes) else raw.encode())


class TestCursor:
    def test_round_trip(self):
        from datetime import datetime, timezone

        moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
        assert decode_cursor(encode_cursor(moment, "6a1c3f0e-3b1c-4f5e-9a57-1f2e3d4c5b6a")) == (
            moment, "6a1c3f0e-3b1c-4f5e-9a57-1f2e3d4c5b6a")

    @pytest.mark.parametrize("payload", [
        ["0001-01-01T00:00:00+14:00", "6a1c3f0e-3b1c-4f5e-9a57-1f2e3d4c5b6a"],
        ["9999-12-31T23:59:59-14:00", "6a1c3f0e-3b1c-4f5e-9a57-1f2e3d4c5b6a"],
        ["2026-01-01T00:00:00+00:00", "x\x00"], ["2026-01-01T00:00:00+00:00", 1], [1, 2], {"a": 1}, "x",
    ])
    def test_forged(self, payload):
        with pytest.raises(Unprocessable):
            decode_cursor(base64.urlsafe_b64encode(json.dumps(payload).encode()).decode())

    @pytest.mark.parametrize("cursor", ["!!!", "A" * 5000, base64.urlsafe_b64encode(b"[" * 3000).decode(),
                                        base64.urlsafe_b64encode(b"\xff\xfe").decode(), "٤٠"])
    def test_garbage(self, cursor):
        with pytest.raises(Unprocessable):
            decode_cursor(cursor)
