"""The one gate every JSON request body passes before a schema sees it.

Python's decoder recurses once per nesting level (a body nested a thousand deep is a
RecursionError), refuses integer literals past 4,300 digits with a ValueError, and happily
returns lone surrogates ("\\ud800") that no database or template can encode later. Each of
these used to be a 500, or worse, a stored value that broke every page showing it. Here the
body is decoded once, with a depth and a digit limit, and its depth and every string and number in
it checked; what is refused is a 422 naming where in the body it was.
"""

from __future__ import annotations

import json

from flask import Flask, request
from werkzeug.exceptions import BadRequest

from marketplace.errors import InvalidInput
from marketplace.text import text_problem

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 20  # beyond any column (2^63 has 19 digits); fields check tighter bounds


class _TooLong(int):
    """Stands for an integer literal with too many digits, so the walk can say where it was."""


TOO_DEEP = object()  # the decoder ran out of stack: far deeper than MAX_DEPTH


def install(app: Flask) -> None:
    app.before_request(_check_json_body)


def _check_json_body() -> None:
    if not request.path.startswith("/api/") or not request.is_json or request.routing_exception is not None:
        return
    raw = request.get_data(cache=True)
    if not raw:
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The request body is not UTF-8.", errors={"body": [f"not UTF-8 at byte {exc.start}"]}) from None
    try:
        document = json.loads(text, parse_int=_integer, parse_constant=_no_constant)
    except RecursionError:
        document = TOO_DEEP
    except ValueError as exc:
        bad = BadRequest("The request body is not valid JSON.")
        bad.data = {"messages": {"json": [f"Invalid JSON body: {exc}"]}}
        raise bad from None
    errors = problems_in(document)
    if errors:
        raise InvalidInput("The request has invalid fields; see errors.", errors=errors)


def _integer(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    return _TooLong(0) if digits > MAX_INTEGER_DIGITS else int(literal)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def problems_in(document: object) -> dict[str, list[str]]:
    """Field path -> what is wrong, for every string and integer in the document (iteratively)."""
    errors: dict[str, list[str]] = {}
    stack: list[tuple[str, int, object]] = [("", 0, document)]
    while stack:
        path, depth, value = stack.pop()
        if value is TOO_DEEP or depth > MAX_DEPTH:
            errors[path or "body"] = [f"JSON nested deeper than {MAX_DEPTH} levels"]
        elif isinstance(value, dict):
            for key, inner in value.items():
                where = f"{path}.{key}" if path else str(key)
                if (wrong := text_problem(key, multiline=False)) is not None:
                    errors[where] = [f"the key {wrong}"]
                stack.append((where, depth + 1, inner))
        elif isinstance(value, list):
            stack.extend((f"{path}.{i}" if path else str(i), depth + 1, inner) for i, inner in enumerate(value))
        elif isinstance(value, str):
            if (wrong := text_problem(value, multiline=True)) is not None:
                errors[path or "body"] = [wrong]
        elif isinstance(value, _TooLong):
            errors[path or "body"] = [f"a number of more than {MAX_INTEGER_DIGITS} digits"]
        elif isinstance(value, float) and abs(value) == float("inf"):
            errors[path or "body"] = ["a number too large to hold"]
    return errors
