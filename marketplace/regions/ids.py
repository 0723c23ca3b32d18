"""Identifiers: opaque, globally unique, time-sortable strings with a type prefix.

A ULID carries its creation time in its first ten characters, so ids sort by creation and
index well (new rows land at the end of a B-tree). The id says nothing about the region, so
it survives a party's move to another data center unchanged.
"""

from __future__ import annotations

import re
from datetime import datetime

from ulid import ULID

PREFIXES = frozenset({"mer", "buy", "evt", "prd", "var", "ord", "stf", "key", "cmp", "prl", "imp", "adr", "ses", "chk", "whk",
                      "whd", "wha", "lgp", "rfd", "pyo", "shp", "bkc", "cus"})
_ID_SHAPE = re.compile(r"^(?P<prefix>[a-z]{3})_[0-9A-HJKMNP-TV-Z]{26}$")


def new_id(prefix: str) -> str:
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"{prefix}_{ULID()}"


def first_id_since(prefix: str, moment: datetime) -> str:
    """The smallest id of that type created at or after `moment`: `id >= first_id_since(...)`
    finds recent rows through the primary key's index, with no index on a time column."""
    return f"{prefix}_{str(ULID.from_datetime(moment))[:10]}{'0' * 16}"


def is_id(value: str, prefix: str) -> bool:
    """True when `value` has the shape of an id of that type (it may still not exist)."""
    match = _ID_SHAPE.fullmatch(value)
    return bool(match) and match.group("prefix") == prefix
