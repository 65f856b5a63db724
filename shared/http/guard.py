"""The request guard: what no view should ever see, refused before any view runs as a 400 naming it.

Every request's path, query string and headers are checked for text no database can store (NUL, lone
surrogates); a JSON body is parsed here once with a nesting limit and a limit on the digits of an
integer literal (Python refuses to convert past 4300 and a deep body exhausts the stack), and all its
strings, keys included, are checked the same way (except for a view marked `@raw_body`, which reads
a file of its own: its bytes are data, not JSON to parse, and its limit is its own). The schemas' fields (shared/events/fields.py) then
apply the rules of each field: lengths after normalization, ranges, ASCII digits.
"""
from __future__ import annotations

import json

from flask import Response, current_app, request

from shared.events.fields import text_problem
from shared.http import problems

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 40


def raw_body(view):
    """Mark a view that reads its body itself (an upload): it sets its own size limit, and a JSON file is
    data, never parsed here. Place it under the other decorators, so they carry the mark."""
    view.raw_body = True
    return view


class Refused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def check_request() -> Response | None:
    """`None` when the request may go on, else the 400 problem+json to answer."""
    asked = request._get_current_object()  # type: ignore[attr-defined]  # read many times: once through the proxy
    try:
        _check_text("path", asked.path)
        for name, values in asked.args.lists():
            _check_named("query", name, name, *values)
        for name, value in asked.headers.items():
            _check_named("header", name, name, value)
        if asked.is_json and asked.content_length != 0 and \
                not getattr(current_app.view_functions.get(asked.endpoint or ""), "raw_body", False):
            check_json(asked.get_data(cache=True))
    except Refused as refused:
        return problems.problem(400, "Bad Request", f"Invalid fields: {refused.field}",
                                errors={refused.field: [refused.message]})
    return None


def check_json(raw: bytes) -> object:
    """The body parsed, or `Refused` naming where it is not acceptable."""
    if not raw:
        return None
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise Refused("body", "The request body is not UTF-8.") from None
    if _depth(text) > MAX_DEPTH:
        raise Refused("body", f"The request body is nested deeper than {MAX_DEPTH} levels.")
    try:
        value = json.loads(text, parse_int=_integer, parse_constant=_no_constant)
    except Refused:
        raise
    except (ValueError, RecursionError):
        raise Refused("body", "The request body is not valid JSON.") from None
    _check_value(value, "body")
    return value


def _depth(text: str) -> int:
    """The deepest nesting of brackets outside strings (cheap, before parsing, so no recursion can run out)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _integer(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise Refused("body", f"An integer in the request body has more than {MAX_INTEGER_DIGITS} digits.")
    return int(literal)


def _no_constant(name: str):
    raise Refused("body", f"{name} is not a JSON number.")


def _check_value(value, where: str) -> None:
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            _check_text(path, item)
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = f"{path}.{_printable(key)}"
                _check_text(name, key)
                stack.append((inner, name))
        elif isinstance(item, list):
            stack.extend((inner, f"{path}[{index}]") for index, inner in enumerate(item))


def _check_text(field: str, value: str) -> None:
    problem = text_problem(value)
    if problem:
        raise Refused(field, problem)


def _check_named(where: str, name: str, *texts: str) -> None:
    """`_check_text` of each of `texts`, refused as `where.name` (the name made printable only then)."""
    for text in texts:
        problem = text_problem(text)
        if problem:
            raise Refused(f"{where}.{_printable(name)}", problem)


def _printable(name: str) -> str:
    """A name safe to echo in the answer: NUL, surrogates and anything else not printable ASCII as escapes."""
    return name[:100].encode("unicode_escape", "backslashreplace").decode("ascii")
