"""The text rule (marketplace.text) for what a browser sends through the storefront's forms.

Werkzeug decodes form fields and query arguments leniently: percent-escaped bytes that are
not UTF-8 ("%FF", or "%ED%A0%80", the encoding of a lone surrogate) are kept as the literal
escape text, so a value the client never typed would be stored or searched for without a word.
The rule is therefore applied to the bytes as sent: each field of the query string, or of a
urlencoded body, is decoded strictly, and every decoded value is checked for surrogates and
control characters. The body is read after the form was parsed, so `keep_body` must keep it
before CSRFProtect reads the form (which consumes the stream). Multipart posts are not
re-read: Werkzeug turns their bad bytes into U+FFFD, which is harmless text, and the only
multipart form here (the import upload) carries a file, which the importer checks itself.
"""

from __future__ import annotations

from collections.abc import Container
from urllib.parse import unquote_to_bytes

from flask import request
from werkzeug.datastructures import MultiDict

from marketplace.text import text_problem

URLENCODED = "application/x-www-form-urlencoded"


def keep_body(_endpoint: str | None, _values: dict | None) -> None:
    """Cache a urlencoded post's body so `form_problems` can read its bytes after the form is parsed.

    Registered as a URL value preprocessor because Flask runs those before every
    before_request function, CSRFProtect's included. MAX_CONTENT_LENGTH bounds what is kept.
    """
    if request.method == "POST" and request.mimetype == URLENCODED:
        request.get_data(cache=True, parse_form_data=False)


def form_problems(form: MultiDict, *, multiline: Container[str] = ()) -> dict[str, list[str]]:
    """Field name -> why its text is refused, for every field of the posted `form`; tabs and
    newlines are allowed only in the fields named in `multiline` (the textareas)."""
    body = request.get_data(cache=True, parse_form_data=False) if request.mimetype == URLENCODED else b""
    return _problems(form, body, multiline)


def query_problems() -> dict[str, list[str]]:
    """The same for the request's query arguments (a search form sent with GET)."""
    return _problems(request.args, request.query_string, ())


def _problems(fields: MultiDict, sent: bytes, multiline: Container[str]) -> dict[str, list[str]]:
    found = {name: ["This is not valid text: the bytes sent are not UTF-8."] for name in _undecodable(sent)}
    for name, value in fields.items(multi=True):
        if name not in found and (wrong := text_problem(value, multiline=name in multiline)) is not None:
            found[name] = [f"This text {wrong}; type it again without it."]
    return found


def _undecodable(sent: bytes) -> set[str]:
    """The names of the fields of urlencoded `sent` whose value is not UTF-8."""
    names = set()
    for pair in sent.split(b"&"):
        name, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            names.add(name.decode("utf-8", "replace"))
    return names
