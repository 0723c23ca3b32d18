"""Synonym groups from search/synonyms.toml (equivalents, and the same goods in the four
languages), applied to the query text."""

from __future__ import annotations

import tomllib
import unicodedata
from functools import cache
from pathlib import Path

SYNONYMS_FILE = Path(__file__).with_name("synonyms.toml")
LEXICON_FILE = Path(__file__).with_name("lexicon.toml")
# A query is read up to this many parts: past them a buyer is pasting, not searching, and each
# part costs a clause per field and language (Elasticsearch caps a query's clauses).
MAX_PARTS = 16


def fold(text: str) -> str:
    """Lower case without accents: how phrases are compared."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def groups() -> tuple[tuple[str, ...], ...]:
    """The hand-written groups first (a phrase's first group wins), then the translations
    learned from the catalogue's parallel titles (search/lexicon.py)."""
    raw = tomllib.loads(SYNONYMS_FILE.read_text(encoding="utf-8"))
    learned = tomllib.loads(LEXICON_FILE.read_text(encoding="utf-8"))["translations"] if LEXICON_FILE.exists() else []
    return tuple(tuple(dict.fromkeys(fold(phrase) for phrase in group))
                 for group in [*raw["groups"], *raw["translations"], *learned])


def expand(text: str) -> list[list[str]]:
    """The query as a list of alternatives per part: phrases found in a synonym group become
    [phrase, synonym, ...]; other words stand alone. 'sorrel punch' ->
    [['sorrel', 'hibiscus', 'flor de jamaica', 'oseille'], ['punch']]."""
    words = fold(text).split()
    parts: list[list[str]] = []
    i = 0
    while i < len(words) and len(parts) < MAX_PARTS:
        for length in (3, 2, 1):
            phrase = " ".join(words[i : i + length])
            group = next((g for g in groups() if phrase in g), None) if len(words) - i >= length else None
            if group:
                parts.append([phrase, *[p for p in group if p != phrase]])
                i += length
                break
        else:
            parts.append([words[i]])
            i += 1
    return [part for n, part in enumerate(parts) if part not in parts[:n]]  # "jam jam jam" asks for jam once


def max_edits(word: str) -> int:
    """Typo tolerance by length: none under 4 letters ("rum" is one edit from "run", "ron"),
    one edit from 4 ("jely"), two from 7 ("cinammon"). Words found as typed are never
    corrected (see embedded_query.Part.common), which guards a correctly spelled word of
    another language from being turned into a nearby English one."""
    return 2 if len(word) >= 7 else 1 if len(word) >= 4 else 0
