"""Query understanding: what a buyer's words mean before any engine matches them.

Buyers on phones type intents, not only product words: "coffee jamaica", "ron dominicano",
"rum 70cl", "case of 12", "wholesale cocoa". Read as free words, the place matches shop names
and other products of that country, "10 kg" matches "10 years", and "wholesale" matches every
product sold in cases. So, before the engines build their queries, three things are taken out
of the text and handed over as intents (search.query.Intents), which both engines turn into
boosts, never filters (the product words still have to match):

- origin: a country's name in en/es/fr/nl (CLDR, through Babel, for the countries of the
  region map), a nationality word or a major place (search/places.toml);
- quantities: a number with a unit ("70cl", "10 kg") as the option it names ("70 cl"), and a
  pack size ("case of 12", "24 x 355 ml", "12 pack") as "case of 12", both matched against
  the variants' options;
- B2B words ("wholesale", "bulk", "mayorista", "en gros", "groothandel"): a B2B intent. It
  ranks B2B-only products up for a caller who may see them; who may see them is decided by
  the caller's identity (search.service.audience_for), never by these words.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from functools import cache
from pathlib import Path

from babel import Locale

from marketplace.regions import regionmap
from search.query import Intents, SearchQuery
from search.synonyms import fold

PLACES_FILE = Path(__file__).with_name("places.toml")
LANGUAGES = ("en", "es", "fr", "nl")
B2B_WORDS = ("wholesale", "bulk", "mayorista", "mayoreo", "al por mayor", "en gros", "vente en gros",
             "groothandel", "in bulk", "b2b")
UNITS = {"g": "g", "gr": "g", "gram": "g", "grams": "g", "kg": "kg", "kilo": "kg", "kilos": "kg",
         "ml": "ml", "cl": "cl", "l": "l", "lt": "l", "litre": "l", "liter": "l", "litro": "l", "litros": "l",
         "m": "m", "metre": "m", "meter": "m", "metro": "m", "metros": "m", "oz": "oz", "lb": "lb"}
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_UNIT = "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True))
MEASURE = re.compile(rf"(?<![\w.]){_NUMBER}\s*({_UNIT})(?!\w)")
PACK_BEFORE = re.compile(r"(?<!\w)(?:case|pack|box|caja|paquete|carton|doos|krat)\s+(?:of|de|van)\s+(\d+)(?!\w)")
PACK_TIMES = re.compile(rf"(?<![\w.])(\d+)\s*[x×]\s*(?={_NUMBER}\s*(?:{_UNIT})(?!\w))")
PACK_AFTER = re.compile(r"(?<![\w.])(\d+)\s*-?\s*(?:pack|pk)(?!\w)")
_SPACES = re.compile(r"\s+")
_CONNECTORS = re.compile(r"\s*(?:&|\band\b|\by\b|\ben\b|\bet\b)\s*")


@cache
def origin_words() -> dict[str, str]:
    """Folded origin phrase -> country code, for the countries the marketplace serves."""
    codes = sorted(regionmap.load().countries)
    found: dict[str, str] = {}
    for language in LANGUAGES:
        names = Locale(language).territories
        for code in codes:
            if code in names:
                for phrase in _name_forms(names[code]):
                    found.setdefault(phrase, code)
    extra = tomllib.loads(PLACES_FILE.read_text(encoding="utf-8"))["countries"]
    for code, phrases in extra.items():
        for phrase in phrases:
            found[_plain(phrase)] = code
    return found


@cache
def product_phrases() -> tuple[str, ...]:
    return tuple(_plain(p) for p in tomllib.loads(PLACES_FILE.read_text(encoding="utf-8"))["products"]["phrases"])


def _plain(text: str) -> str:
    """Folded, punctuation as spaces: "St. Kitts & Nevis" -> "st kitts & nevis"."""
    return _SPACES.sub(" ", re.sub(r"[^\w&]+", " ", fold(text))).strip()


def _name_forms(name: str) -> set[str]:
    """A CLDR name, and its pieces when it joins several islands ("Trinidad & Tobago")."""
    plain = _plain(re.sub(r"\(.*?\)", "", name))
    forms = {plain, *(_plain(piece) for piece in _CONNECTORS.split(plain))}
    forms |= {_SPACES.sub(" ", plain.replace("&", f" {word} ")) for word in ("and", "y", "et", "en") if "&" in plain}
    forms |= {f.replace("st ", "saint ", 1) for f in forms if f.startswith("st ")}
    return {f for f in forms if len(f) >= 4 and f not in {"islands", "saint", "sainte", "islas"}}


def understand(query: SearchQuery) -> SearchQuery:
    """The query with origin, quantity and B2B words taken out of its text into its intents.
    Idempotent: a text already understood has none of them left."""
    if not query.text.strip():
        return query
    text, origins = _origins(query.text)
    text, packs, measures = _quantities(text)
    text, b2b = _b2b(text)
    if text == query.text:
        return query
    intents = query.intents
    understood = Intents(
        origins=tuple(dict.fromkeys((*intents.origins, *origins))),
        measures=tuple(dict.fromkeys((*intents.measures, *measures))),
        packs=tuple(dict.fromkeys((*intents.packs, *packs))),
        b2b=intents.b2b or b2b,
    )
    # A trailing space tells the engines the last word is complete; keep it only if it was there.
    stripped = _SPACES.sub(" ", text).strip()
    return replace(query, text=stripped + (" " if stripped and query.text.endswith(" ") else ""), intents=understood)


def _origins(text: str) -> tuple[str, list[str]]:
    words = _plain(text).split()
    protected = _protected(words)
    known = origin_words()
    kept, found, i = [], [], 0
    while i < len(words):
        for length in (4, 3, 2, 1):
            phrase = " ".join(words[i:i + length])
            if len(words) - i >= length and phrase in known and not protected & set(range(i, i + length)):
                found.append(known[phrase])
                i += length
                break
        else:
            kept.append(words[i])
            i += 1
    if not found:
        return text, []
    return " ".join(kept), found


def _protected(words: list[str]) -> set[int]:
    """Positions of words inside a product name that holds a place ("pimienta de jamaica")."""
    positions: set[int] = set()
    for phrase in product_phrases():
        size = len(phrase.split())
        for i in range(len(words) - size + 1):
            if " ".join(words[i:i + size]) == phrase:
                positions |= set(range(i, i + size))
    return positions


def _quantities(text: str) -> tuple[str, list[str], list[str]]:
    folded = fold(text)
    packs = [m.group(1) for pattern in (PACK_BEFORE, PACK_TIMES, PACK_AFTER) for m in pattern.finditer(folded)]
    for pattern in (PACK_BEFORE, PACK_TIMES, PACK_AFTER):
        folded = pattern.sub(" ", folded)
    measures = [f"{_number(m.group(1))} {UNITS[m.group(2)]}" for m in MEASURE.finditer(folded)]
    folded = MEASURE.sub(" ", folded)
    if not packs and not measures:
        return text, [], []
    return folded, [f"case of {n}" for n in packs], measures


def _number(raw: str) -> str:
    value = raw.replace(",", ".")
    return value.rstrip("0").rstrip(".") if "." in value else value


def _b2b(text: str) -> tuple[str, bool]:
    folded = f" {fold(text)} "
    found = False
    for phrase in sorted(B2B_WORDS, key=len, reverse=True):
        if f" {phrase} " in folded:
            folded = folded.replace(f" {phrase} ", " ")
            found = True
    return (folded.strip(), True) if found else (text, False)
