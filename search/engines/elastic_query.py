"""Request bodies for searches and suggestions: pure functions of what the buyer asked.

Free text, the same rules as the embedded engine (search/engines/embedded_query.py). The text
is split into parts by search.synonyms.expand (a word, or a phrase found in a synonym group,
with its equivalents). Each part is one dis_max over the ways it can match, so it scores as
its best match (a product described in four languages does not outrank one described in one):
- each alternative in the stemmed language fields, title, description and keywords of every
  language (the buyer's language boosted; synonyms a little lower; several words as a phrase);
- the typed word as written, within max_edits(word) typos (0 under 5 letters, 1 from 5, 2 from
  9), in the folded subfields. The fuzziness is set per word, never "AUTO", whose thresholds
  (3 and 6 letters) are not ours;
- the last typed word as the start of a title word, when it has 3 letters or more and the text
  does not end with a space (the buyer may still be typing).
Every part must match, except stopwords, which only score. When nothing matches every part,
the engine asks again with one part fewer required, down to half of them (`relaxations`).

Intents (search.understanding: origin, quantities, pack sizes, B2B words) leave the text first
and come back as constant-score `should` clauses (`intent_clauses`, the embedded engine's
weights): they rank, never narrow.

Filters are in filter context (no scoring, cached). Facet selections (category, origin country,
merchant, price bucket) go to `post_filter`, so that each facet's counts can ignore its own
selection: every facet aggregation is wrapped in a filter aggregation holding the OTHER facets'
selections. Buyers thus see how many products each other value would give (disjunctive facets).
"""

from __future__ import annotations

import copy
import re

from search.engines.elastic_mapping import LANGUAGES, search_language
from search.query import FACETS, SORTS, SearchQuery
from search.synonyms import expand, fold, max_edits
from search.understanding import understand
from search.engines.embedded_query import B2B_INTENT, MEASURE, ORIGIN, PACK, STOPWORDS  # one set of rules for both engines

EDGE_PUNCTUATION = re.compile(r"^\W+|\W+$")
SEPARATOR = re.compile(r"\W")  # a space, or inner punctuation ("sea-salt"): the analyzers see several tokens
TITLE, DESCRIPTION, KEYWORDS = 3.0, 1.0, 1.2
BUYER_LANGUAGE = 1.5  # the fields in the buyer's language count this much more
SYNONYM = 0.9  # a synonym counts a little less than the word the buyer typed
TYPO, PREFIX = 0.4, 0.25  # a typo or a completion ranks under the word spelled out
TIE_BREAKER = 0.1
MIN_PREFIX = 3  # a last word shorter than this is not completed
# Elasticsearch caps the leaf clauses of a rewritten query (1,024 on a small node): a fuzzy
# clause over the nine text fields may become 9 x MAX_EXPANSIONS leaves, so expansions are few
# and only the first TYPO_PARTS parts of a long query get typo and prefix clauses.
MAX_EXPANSIONS = 10
TYPO_PARTS = 8
FACET_FIELDS = {"category": "category_path", "origin_country": "origin_countries", "merchant": "merchant_facet"}
FACET_SIZES = {"category": 500, "origin_country": 300, "merchant": 50}
HIT_SOURCE = ["id", "title", "merchant_id", "merchant_name", "merchant_handle", "category", "origin_countries",
              "price", "currency", "price_usd", "in_stock", "b2b_only", "image_url"]
SNIPPET_CHARS = 160
MAX_HIGHLIGHTED_CHARS = 100_000
_COUNT_THEN_KEY = [{"_count": "desc"}, {"_key": "asc"}]
SORT_CLAUSES = {
    "relevance": [{"_score": "desc"}, {"popularity": "desc"}, {"created_at": "desc"}, {"id": "asc"}],
    "price_asc": [{"price_usd": "asc"}, {"_score": "desc"}, {"id": "asc"}],
    "price_desc": [{"price_usd": "desc"}, {"_score": "desc"}, {"id": "asc"}],
    "newest": [{"created_at": "desc"}, {"id": "desc"}],
}


def query_body(query: SearchQuery, required_parts: int | None = None) -> dict:
    """The body of the _search request for `query`; with `required_parts`, only that many of
    the text's required parts need to match (see relaxations)."""
    if query.sort not in SORTS:
        raise ValueError(f"unknown sort {query.sort!r}; one of {', '.join(SORTS)}")
    if query.offset < 0 or query.limit < 0:
        raise ValueError("offset and limit must not be negative")
    query = understand(query)
    language = search_language(query.language)
    filters, exclusions = base_filters(query)
    selected = facet_filters(query)

    body: dict = {}
    if query.facets:
        if selected:
            body["post_filter"] = _all_of(list(selected.values()))
        body["aggs"] = facet_aggregations(selected, query.price_rungs_usd)
    else:
        filters.extend(selected.values())  # no counts to keep apart: plain filters are cheaper
    boolean = text_query(query.text, language, required_parts)
    boosts = intent_clauses(query)
    if boosts:
        boolean.setdefault("must", [{"match_all": {}}])  # with no text, a lone should would filter
        boolean["should"] = [*boolean.get("should", []), *boosts]
    if filters:
        boolean["filter"] = filters
    if exclusions:
        boolean["must_not"] = exclusions
    body["query"] = {"bool": boolean} if boolean else {"match_all": {}}
    body.update({
        "sort": copy.deepcopy(SORT_CLAUSES[query.sort]),
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": True,
        "_source": HIT_SOURCE,
    })
    if "must" in boolean or "should" in boolean:
        body["highlight"] = highlight(language)
    return _order(body)


def intent_clauses(query: SearchQuery) -> list[dict]:
    """Constant scores for what the buyer asked beyond product words."""
    intents = query.intents
    clauses = []
    if intents.origins:
        clauses.append({"constant_score": {"filter": {"terms": {"origin_countries": list(intents.origins)}},
                                           "boost": ORIGIN, "_name": "intent:origin"}})
    for option in (*intents.measures, *intents.packs):
        clauses.append({"constant_score": {"filter": {"match_phrase": {"keywords": option}},
                                           "boost": PACK if option.startswith("case of") else MEASURE,
                                           "_name": f"intent:option:{option}"}})
    if intents.b2b and query.audience == "b2b":
        clauses.append({"constant_score": {"filter": {"term": {"b2b_only": True}}, "boost": B2B_INTENT, "_name": "intent:b2b"}})
    return clauses


def parts(text: str) -> list[tuple[list[str], bool]]:
    """(alternatives, required) per part of the text. Stopwords are optional, unless the text
    has nothing else."""
    found = [alternatives for alternatives in expand(text) if any(words_of(a) for a in alternatives)]
    optional = [len(a) == 1 and a[0] in STOPWORDS for a in found]
    if all(optional):
        optional = [False] * len(found)
    return [(alternatives, not skip) for alternatives, skip in zip(found, optional, strict=True)]


def words_of(alternative: str) -> list[str]:
    """The words of an alternative without punctuation at their ends ("salt," is "salt", four
    letters, no typo allowed); inner punctuation ("l'huile") is left to the analyzers."""
    return [word for word in (EDGE_PUNCTUATION.sub("", w) for w in alternative.split()) if word]


def relaxations(text: str) -> list[int | None]:
    """How many required parts must match, strictest first: all (None), then one fewer at a
    time down to half of them."""
    required = sum(1 for _, needed in parts(text) if needed)
    return [None, *range(required - 1, max(1, (required + 1) // 2) - 1, -1)]


def text_query(text: str, language: str, required_parts: int | None = None) -> dict:
    """The bool clauses (must/should) for the free text; {} when there is none."""
    found = parts(text)
    completing = bool(found) and not text.endswith(" ")
    clauses = [(part_clause(alternatives, language, prefix=completing and n == len(found) - 1, typos=n < TYPO_PARTS),
                 needed)
               for n, (alternatives, needed) in enumerate(found)]
    required = [clause for clause, needed in clauses if needed]
    optional = [clause for clause, needed in clauses if not needed]
    boolean: dict = {}
    if required_parts is not None and required_parts < len(required):
        boolean["must"] = [{"bool": {"should": required, "minimum_should_match": required_parts}}]
    elif required:
        boolean["must"] = required
    if optional:
        boolean["should"] = optional
    return boolean


def part_clause(alternatives: list[str], language: str, *, prefix: bool, typos: bool = True) -> dict:
    """One part: its best match among its alternatives, typos of the typed word, and (for the
    last part) completions of it. Typos and completions are for a single word only, as in the
    embedded engine: spread over the tokens of "sea-salt", a word's allowance would let "sea"
    match almost any short word."""
    queries = [alternative_clause(alternative, language, SYNONYM if n else 1.0)
               for n, alternative in enumerate(alternatives)]
    word = single_word(alternatives[0])
    if word and typos:
        queries.append(typo_clause(word, language))
        if prefix and len(word) >= MIN_PREFIX:
            queries.append(prefix_clause(word, language))
    return {"dis_max": {"queries": queries, "tie_breaker": TIE_BREAKER}}


def single_word(alternative: str) -> str | None:
    """The alternative if it is one word to the analyzers, else None."""
    words = words_of(alternative)
    return words[0] if len(words) == 1 and not SEPARATOR.search(words[0]) else None


def alternative_clause(alternative: str, language: str, boost: float) -> dict:
    """The alternative's stems in the language fields: a word, or several as a phrase."""
    words = " ".join(words_of(alternative))
    kind = "phrase" if SEPARATOR.search(words) else "word"  # several tokens must stay together, in order
    clause = {"query": words, "type": "phrase" if kind == "phrase" else "best_fields",
              "fields": text_fields(language), "_name": f"{kind}:{words}"}
    if boost != 1:
        clause["boost"] = boost
    return {"multi_match": clause}


def typo_clause(word: str, language: str) -> dict:
    """The word as written, within its typo allowance, in the folded (unstemmed) subfields:
    edit distances count on real words, not on stems."""
    clause = {
        "query": word, "type": "best_fields", "fields": text_fields(language, folded=True),
        "fuzziness": max_edits(word), "prefix_length": 0, "max_expansions": MAX_EXPANSIONS,
        "fuzzy_transpositions": True, "boost": TYPO,
    }
    if max_edits(word):
        clause["_name"] = f"typo:{word}"  # read back for SearchResult.corrected_terms
    return {"multi_match": clause}


def prefix_clause(word: str, language: str) -> dict:
    return {"multi_match": {"query": word, "type": "bool_prefix", "fields": title_fields(language, folded=True),
                            "boost": PREFIX, "_name": f"prefix:{word}"}}


def typo_words(text: str) -> list[str]:
    """The typed words allowed typos: those whose clause is named typo:<word>."""
    words = [word for alternatives, _ in parts(text)[:TYPO_PARTS] if (word := single_word(alternatives[0]))]
    return [word for word in dict.fromkeys(words) if max_edits(word)]


def _languages(language: str) -> list[tuple[str, float]]:
    return [(lang, BUYER_LANGUAGE if lang == language else 1.0)
            for lang in (language, *[other for other in LANGUAGES if other != language])]


def title_fields(language: str, *, folded: bool = False) -> list[str]:
    suffix = ".folded" if folded else ""
    return [_boosted(f"title.{lang}{suffix}", TITLE * weight) for lang, weight in _languages(language)]


def text_fields(language: str, *, folded: bool = False) -> list[str]:
    suffix = ".folded" if folded else ""
    return [
        *title_fields(language, folded=folded),
        _boosted(f"keywords{suffix}", KEYWORDS),
        *[_boosted(f"description.{lang}{suffix}", DESCRIPTION * weight) for lang, weight in _languages(language)],
    ]


def _boosted(field: str, boost: float) -> str:
    return field if boost == 1 else f"{field}^{boost:g}"


def base_filters(query: SearchQuery) -> tuple[list[dict], list[dict]]:
    """Filters that are not facets: (filter clauses, must_not clauses)."""
    filters: list[dict] = []
    if query.merchant_regions:
        filters.append({"terms": {"merchant_region": list(query.merchant_regions)}})
    price = {}
    if query.price_min_usd is not None:
        price["gte"] = query.price_min_usd
    if query.price_max_usd is not None:
        price["lte"] = query.price_max_usd
    if price:
        filters.append({"range": {"price_usd": price}})
    if query.in_stock:
        filters.append({"term": {"in_stock": True}})
    filters += audience_filters(query.audience)
    if query.b2b_only:
        filters.append({"term": {"b2b_only": True}})
    exclusions = [{"term": {"ships_to_exclusions": query.ships_to.upper()}}] if query.ships_to else []
    return filters, exclusions


def facet_filters(query: SearchQuery) -> dict[str, dict]:
    """The buyer's facet selections, by facet name, in FACETS order."""
    selected: dict[str, dict] = {}
    if query.category:
        selected["category"] = {"term": {"category_path": query.category}}
    if query.origin_countries:
        selected["origin_country"] = {"terms": {"origin_countries": [c.upper() for c in query.origin_countries]}}
    if query.merchant_ids:
        selected["merchant"] = {"terms": {"merchant_id": list(query.merchant_ids)}}
    if query.price_range_usd is not None:
        low, high = query.price_range_usd
        selected["price"] = {"range": {"price_usd": {"gte": low} | ({"lt": high} if high is not None else {})}}
    return selected


def facet_aggregations(selected: dict[str, dict], rungs: tuple[int, ...]) -> dict:
    """One filter aggregation per facet, holding every selection but the facet's own. The price
    facet counts products per rung of the buyer's currency (search.prices), keyed by rung."""
    return {
        facet: {
            "filter": _all_of([clause for name, clause in selected.items() if name != facet]),
            "aggs": {"values": _facet_values(facet, rungs)},
        }
        for facet in FACETS
    }


def _facet_values(facet: str, rungs: tuple[int, ...]) -> dict:
    if facet == "price":
        ranges = [{"key": str(n), "from": low} | ({"to": rungs[n + 1]} if n + 1 < len(rungs) else {})
                  for n, low in enumerate(rungs)]
        return {"range": {"field": "price_usd", "ranges": ranges}}
    return {"terms": {"field": FACET_FIELDS[facet], "size": FACET_SIZES[facet], "order": _COUNT_THEN_KEY}}


def _all_of(clauses: list[dict]) -> dict:
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def highlight(language: str) -> dict:
    """Highlights of titles and descriptions. Unlike the embedded engine, stopwords the buyer
    typed ("de") are marked too: a highlight_query without them would repeat every clause."""
    fields = {}
    for lang in (language, *[other for other in LANGUAGES if other != language]):
        for name in (f"title.{lang}", f"title.{lang}.folded"):
            fields[name] = {"number_of_fragments": 0}  # the whole title
        for name in (f"description.{lang}", f"description.{lang}.folded"):
            fields[name] = {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1}
    # encoder "html": the text is escaped before the tags go in, so the snippet is safe markup.
    # max_analyzed_offset: a description longer than the index's limit (1,000,000 characters)
    # would otherwise fail the whole search; past it, the text is simply not highlighted.
    return {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html", "require_field_match": True,
            "max_analyzed_offset": MAX_HIGHLIGHTED_CHARS, "fields": fields}


def audience_filters(audience: str) -> list[dict]:
    """Anything but a B2B buyer is retail, and never finds B2B-only products."""
    return [] if audience == "b2b" else [{"term": {"b2b_only": False}}]


def suggest_body(prefix: str, language: str, limit: int, audience: str = "retail") -> dict:
    """Titles completing what the buyer types, in any word order ("mountain cof" finds
    "Blue Mountain Coffee"), titles starting with it first, one per distinct title (in the
    buyer's language, else English), of the products `audience` may find."""
    field = f"suggest.{search_language(language)}"
    narrowed = audience_filters(audience)
    return {
        "query": {"bool": {
            "must": [{"multi_match": {"query": prefix, "type": "bool_prefix", "operator": "and",
                                      "fields": [field, f"{field}._2gram", f"{field}._3gram"]}}],
            "should": [{"prefix": {f"{field}.keyword": {"value": fold(prefix), "boost": 2.0}}}],  # starts so
            **({"filter": narrowed} if narrowed else {}),
        }},
        "collapse": {"field": f"{field}.keyword"},
        "sort": [{"_score": "desc"}, {"popularity": "desc"}, {"id": "asc"}],
        "size": max(0, limit),
        "track_total_hits": False,
        "_source": [field],
    }


_KEY_ORDER = ("query", "post_filter", "aggs", "sort", "from", "size", "track_total_hits", "_source", "highlight")


def _order(body: dict) -> dict:
    """Keys in reading order, so golden files read top to bottom like the request."""
    return {key: body[key] for key in _KEY_ORDER if key in body}
