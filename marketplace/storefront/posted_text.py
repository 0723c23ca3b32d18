"""The text rule (marketplace.text) for what a browser posts to the storefront's forms.

Werkzeug decodes a posted form leniently: percent-escaped bytes that are not UTF-8 ("%FF",
"%ED%A0%80", the encoding of a lone surrogate) are kept as the literal escape text, so a value
the client never typed would be stored without a word. The rule is therefore applied to the
bytes as sent: `keep_body` keeps the body of a urlencoded post (it must run before CSRFProtect
reads the form, which consumes the stream), and `problems` decodes each field of it strictly,
then checks every decoded value for surrogates and control characters. Multipart posts are not
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
    """Cache a urlencoded post's body so `problems` can read its bytes after the form is parsed.

    Registered as a URL value preprocessor because Flask runs those before every
    before_request function, CSRFProtect's included. MAX_CONTENT_LENGTH bounds what is kept.
    """
    if request.method == "POST" and request.mimetype == URLENCODED:
        request.get_data(cache=True, parse_form_data=False)


def problems(form: MultiDict, *, multiline: Container[str] = ()) -> dict[str, list[str]]:
    """Field name -> why its text is refused, for every posted field; tabs and newlines are
    allowed only in the fields named in `multiline` (the textareas)."""
    found = {name: ["This is not valid text: the bytes sent are not UTF-8."] for name in _undecodable_fields()}
    for name, value in form.items(multi=True):
        if name not in found and (wrong := text_problem(value, multiline=name in multiline)) is not None:
            found[name] = [f"This text {wrong}; type it again without it."]
    return found


def _undecodable_fields() -> set[str]:
    if request.mimetype != URLENCODED:
        return set()
    names = set()
    for pair in request.get_data(cache=True, parse_form_data=False).split(b"&"):
        name, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            names.add(name.decode("utf-8", "replace"))
    return names
