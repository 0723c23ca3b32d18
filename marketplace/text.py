"""What counts as text the marketplace will store: valid Unicode without control characters.

A lone surrogate ("\\ud800") cannot be encoded as UTF-8, so once stored it makes every page,
search document and export that shows it fail; NUL is refused by PostgreSQL and truncates C
strings; other control characters are invisible and break headers and CSV. One rule for every
way text comes in, applied at the edge so the problem is named where it was typed:

- JSON request bodies: marketplace.jsonbody (a 422 naming the path in the body);
- the storefront's and dashboard's forms: marketplace.storefront.form_text, which also
  refuses bytes that are not UTF-8 (the form shown again, 422, the error on its field);
- catalog files: marketplace.catalog.importer.rows (a row error naming the column; the file
  itself must be UTF-8, formats.decode).
"""

from __future__ import annotations

import re

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL_INLINE = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why `value` is not acceptable text, or None. Newlines and tabs only where multiline."""
    if _SURROGATE.search(value):
        return "contains an invalid character (a lone UTF-16 surrogate)"
    found = (_CONTROL_MULTILINE if multiline else _CONTROL_INLINE).search(value)
    if found:
        return f"contains a control character (U+{ord(found.group()):04X})"
    return None
