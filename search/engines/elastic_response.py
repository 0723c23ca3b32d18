"""Elasticsearch responses read back into the backend-neutral SearchResult: pure functions."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping

from search.engines.elastic_mapping import LANGUAGES, localized, search_language
from search.engines.elastic_query import typo_words
from search.query import FACETS, FacetValue, Hit, SearchQuery, SearchResult, merchant_facet_value
from search.synonyms import fold, max_edits
from search.typos import edit_distance

MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def search_result(response: Mapping, query: SearchQuery) -> SearchResult:
    """The SearchResult for a _search response to query_body(query)."""
    language = search_language(query.language)
    hits = response.get("hits") or {}
    raw_hits = hits.get("hits") or []
    return SearchResult(
        items=[_hit(raw, language, scored=query.sort == "relevance") for raw in raw_hits],
        total=total_hits(response),
        facets=facets(response.get("aggregations") or {}) if query.facets else {},
        corrected_terms=corrected_terms(raw_hits, typo_words(query.text)),
    )


def empty_result(query: SearchQuery) -> SearchResult:
    return SearchResult(items=[], total=0, facets={facet: [] for facet in FACETS} if query.facets else {})


def total_hits(response: Mapping) -> int:
    total = (response.get("hits") or {}).get("total")
    if isinstance(total, Mapping):
        return int(total.get("value", 0))
    return int(total or 0)


def _hit(raw: Mapping, language: str, *, scored: bool) -> Hit:
    source = raw.get("_source") or {}
    titles = source.get("title") or {}
    title = localized(titles, language)
    return Hit(
        id=source.get("id") or raw["_id"],
        score=float(raw.get("_score") or 0.0) if scored else 0.0,  # as the embedded engine: sorted hits score 0
        title=title,
        highlight=best_snippet(raw.get("highlight") or {}, display_language(titles, language)) or html.escape(title),
        merchant_id=source["merchant_id"],
        merchant_name=source["merchant_name"],
        merchant_handle=source.get("merchant_handle"),
        category=source["category"],
        origin_countries=tuple(source.get("origin_countries") or ()),
        price=int(source["price"]),
        currency=source["currency"],
        price_usd=int(source["price_usd"]),
        in_stock=bool(source["in_stock"]),
        b2b_only=bool(source["b2b_only"]),
        image_url=source.get("image_url"),
    )


def display_language(titles: Mapping[str, str], language: str) -> str:
    """The language of the title a hit shows (see localized)."""
    title = localized(titles, language)
    return next((lang for lang in (language, *LANGUAGES) if titles.get(lang) == title), language)


def best_snippet(highlight: Mapping[str, list[str]], language: str) -> str:
    """The title in `language` (the one the hit shows), then its description, then other
    languages' title and description. Of a
    field's stemmed and folded highlights, the one with more marks (only the folded subfield
    marks words matched through a typo). HTML-escaped text with <mark> tags, or "" when no
    field was highlighted."""
    languages = (language, *[other for other in LANGUAGES if other != language])
    order = [(field, language) for field in ("title", "description")]
    order += [(field, other) for other in languages[1:] for field in ("title", "description")]
    for field, lang in order:
        candidates = [*highlight.get(f"{field}.{lang}", []), *highlight.get(f"{field}.{lang}.folded", [])]
        if candidates:
            return max(candidates, key=lambda snippet: snippet.count("<mark>"))
    return ""


def facets(aggregations: Mapping) -> dict[str, list[FacetValue]]:
    """Counts per facet value, values with no products left out. Terms facets come ordered by
    count then value; the price facet by rung, its values the index into SearchQuery.price_rungs_usd."""
    result = {}
    for facet in FACETS:
        buckets = ((aggregations.get(facet) or {}).get("values") or {}).get("buckets") or []
        value = merchant_facet_value if facet == "merchant" else FacetValue
        result[facet] = [value(str(bucket["key"]), int(bucket["doc_count"]))
                         for bucket in buckets if bucket.get("doc_count", 0) > 0]
    return result


def corrected_terms(raw_hits: list[Mapping], words: list[str]) -> tuple[str, ...]:
    """For each typed word that matched only through typo tolerance (its typo:<word> clause
    matched on this page, its word:<word> clause nowhere), the spelling it matched: the most
    frequent highlighted word within the word's edit allowance."""
    corrections = []
    for word in words:
        matched = [raw for raw in raw_hits if f"typo:{word}" in _matched_names(raw)]
        if not matched or any(f"word:{word}" in _matched_names(raw) for raw in raw_hits):
            continue
        seen: Counter[str] = Counter()
        for raw in matched:
            for fragments in (raw.get("highlight") or {}).values():
                for fragment in fragments:
                    for marked in MARK.findall(fragment):
                        candidate = fold(html.unescape(marked))
                        if candidate != word and edit_distance(candidate, word, max_edits(word)) <= max_edits(word):
                            seen[candidate] += 1
        if seen:
            corrections.append(seen.most_common(1)[0][0])
    return tuple(dict.fromkeys(corrections))


def _matched_names(raw: Mapping) -> set[str]:
    names = raw.get("matched_queries") or ()
    return set(names.keys() if isinstance(names, Mapping) else names)  # a dict when scores are asked for


def suggestions(response: Mapping, language: str) -> list[str]:
    """The suggested titles of a response to suggest_body, best first, each once."""
    field = search_language(language)
    titles: dict[str, str] = {}
    for raw in (response.get("hits") or {}).get("hits") or []:
        title = ((raw.get("_source") or {}).get("suggest") or {}).get(field)
        if title and fold(title) not in titles:
            titles[fold(title)] = title
    return list(titles.values())
