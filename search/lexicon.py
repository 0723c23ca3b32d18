"""Translation data learned from the catalogue itself: the words merchants use for the same
product in two languages.

Many products carry a title in English and in the merchant's own language ("Ground ginger" /
"Jengibre molido" / "Gemalen gember"). Over all such pairs, a word of one language that
is aligned to the English word that best explains it (IBM model 1) is taken as its
translation. The pairs are written to search/lexicon.toml (`cpu search lexicon`, or
`python -m search.lexicon`), reviewed like any data file, and read beside the hand-written
groups of search/synonyms.toml: a buyer typing "molido", "oscuro" or "agua" finds the
English-only listings without anyone writing an entry for those words. Why this and not
embeddings: docs/decisions/0012-cross-language-matching.md.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable
from itertools import product
from pathlib import Path

from search.documents import SearchDocument
from search.synonyms import fold

LEXICON_FILE = Path(__file__).with_name("lexicon.toml")
MIN_PAIRS = 1.5  # expected alignments over the distinct title pairs: one title is not evidence
WORD = re.compile(r"[^\W\d_]{3,}")
# Function words never translate one to one.
FUNCTION_WORDS = frozenset(
    "and the with for from of in on "
    "con de del el la las los para por una sin "
    "au aux avec des du et la le les pour une sur "
    "de een en het met van voor".split()
)


def _words(title: str) -> set[str]:
    product_part = title.split(" — ")[0]  # what follows the dash is the merchant's place
    return {w for w in WORD.findall(fold(product_part)) if w not in FUNCTION_WORDS}


def learn(documents: Iterable[SearchDocument]) -> dict[str, list[str]]:
    """English word -> its translations, from the distinct parallel titles of the documents.

    Word alignment by IBM model 1 (expectation-maximisation over the title pairs of each
    language): in "Sierra Maestra coffee, dark roast" / "Café Sierra Maestra, tueste oscuro",
    "café" is explained by "coffee" and "tueste" by "roast" across the other titles, which
    leaves "oscuro" to "dark". Words both languages share ("rhum", "aloe") are not translations."""
    by_language: dict[str, set[tuple[frozenset[str], frozenset[str]]]] = {}
    for document in documents:
        english = document.title.get("en")
        for language, title in document.title.items():
            if english and language != "en":
                by_language.setdefault(language, set()).add((frozenset(_words(english)), frozenset(_words(title))))
    english_words = {w for pairs in by_language.values() for e, _ in pairs for w in e}
    found: dict[str, set[str]] = {}
    for pairs in by_language.values():
        other_words = {w for _, o in pairs for w in o}
        for other, english, expected in _aligned(pairs):
            if other in english_words or english in other_words or expected < MIN_PAIRS:
                continue
            found.setdefault(english, set()).add(other)
    return {word: sorted(found[word]) for word in sorted(found)}


def _aligned(pairs: set[tuple[frozenset[str], frozenset[str]]], rounds: int = 15) -> list[tuple[str, str, float]]:
    """(other word, the English word it best aligns to, expected times aligned), model 1 EM."""
    t: dict[tuple[str, str], float] = {}
    for english, other in pairs:
        for e, o in product(english, other):
            t[e, o] = 1.0
    counts: Counter = Counter()
    for _ in range(rounds):
        counts = Counter()
        totals: Counter = Counter()
        for english, other in pairs:
            for o in other:
                norm = sum(t[e, o] for e in english)
                for e in english:
                    share = t[e, o] / norm
                    counts[e, o] += share
                    totals[e] += share
        t = {(e, o): c / totals[e] for (e, o), c in counts.items()}
    best: dict[str, tuple[str, float]] = {}
    for (e, o), c in counts.items():
        if c > best.get(o, ("", 0.0))[1]:
            best[o] = (e, c)
    return [(o, e, c) for o, (e, c) in best.items()]


def write(lexicon: dict[str, list[str]], path: Path = LEXICON_FILE) -> None:
    lines = [
        "# Learned by search/lexicon.py from the catalogue's parallel titles: do not edit by hand,",
        "# rebuild with `python -m search.lexicon` (the demo catalogue) and review the diff.",
        "translations = [",
        *(f"  {[english, *others]!r},".replace("'", '"') for english, others in lexicon.items()),
        "]",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    from search.relevance import demo_documents

    lexicon = learn(demo_documents())
    write(lexicon)
    print(f"{len(lexicon)} English words with translations written to {LEXICON_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
