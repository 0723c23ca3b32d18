"""Typo tolerance for the embedded engine: is a word spelt right, and if not, which word of
the catalogue did the buyer mean?

A word the index has as typed (in a title, the keywords, or stemmed in the buyer's language)
counts as known. An unknown word is corrected before the query runs: a fuzzy search with
`synonyms.max_edits(word)` finds the titles it could mean, and the closest word they share
(the most frequent among equally close ones) joins the query as an alternative, with its
synonyms. So "hibiscis" ranks hibiscus products by BM25 like "hibiscus" would, finds the
sorrel ones through the synonym, and "hibiscus" is reported for "did you mean".
"""

from __future__ import annotations

import json
from collections import Counter

import tantivy
from tantivy import Occur, Query

from search import synonyms
from search.engines.embedded_schema import LANGUAGES, PLAIN, SCHEMA, analyze, stemmed
from search.typos import edit_distance

CANDIDATES = 20  # titles read to choose a correction


def frequency(searcher: tantivy.Searcher, word: str, language: str) -> int:
    """In how many documents the word appears: as typed in a title or the keywords, or stemmed
    in a title or description of the buyer's language (the most of any one field; 0 for a
    word that is several tokens). Other languages' stemmers are not asked: they turn many a
    typo into some stem ("molases" is Spanish "mol", as in "molidas")."""
    tokens = analyze(PLAIN, word)
    if len(tokens) != 1:
        return 0
    counts = [searcher.doc_freq("keywords_plain", tokens[0])]
    counts += [searcher.doc_freq(f"title_plain_{lang}", tokens[0]) for lang in LANGUAGES]
    stems = analyze(stemmed(language), word)
    if stems:
        counts += [searcher.doc_freq(f"title_{language}", stems[0]), searcher.doc_freq(f"description_{language}", stems[0])]
    return max(counts)


def correction(searcher: tantivy.Searcher, word: str) -> str | None:
    """The catalogue's word the buyer most likely meant by an unknown `word`, or None."""
    edits = synonyms.max_edits(word)
    if not edits:
        return None
    fuzzy = [(Occur.Should, Query.fuzzy_term_query(SCHEMA, f"title_plain_{lang}", word, edits, True)) for lang in LANGUAGES]
    found = searcher.search(Query.boolean_query(fuzzy), CANDIDATES, count=False)
    close: Counter[str] = Counter()
    distance: dict[str, int] = {}
    for _, address in found.hits:
        titles = json.loads(searcher.doc(address)["document"][0])["title"].values()
        for token in {t for title in titles for t in analyze(PLAIN, title)}:
            if token not in distance:
                distance[token] = edit_distance(word, token, edits)
            if distance[token] <= edits:
                close[token] += 1
    if not close:
        return None
    return min(close, key=lambda token: (distance[token], -close[token], token))
