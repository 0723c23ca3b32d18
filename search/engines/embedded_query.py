"""From a SearchQuery to tantivy queries: the free text, the filters, and the facet counts.

Free text. The query is split into parts by `synonyms.expand` (a part is a word, or a phrase
found in a synonym group together with its equivalents). Each part becomes one
disjunction-max over every way it can match: its words and synonyms in the title,
description and keywords of every language (the buyer's language boosted; multi-word
synonyms as phrases), and, on the real words, fuzzy terms allowing `synonyms.max_edits(word)`
typos, plus a prefix match for the last word (the buyer may still be typing) and for words
found nowhere as typed ("decaf"). Dis-max rather than a sum, so that a product described in
four languages does not outrank one described in one. A word found as typed in COMMON
documents or more, or found in the synonym file, is taken as spelt right and gets no typo
or prefix matching: on a large catalogue that halves the work of a query. A word found
nowhere is corrected first (see embedded_typos).

Parts are then combined: all of them must match. When fewer than FEW products match them
all, one part at a time may be missing (down to half of them), the products matching every
part first: "wholesale coffee 10 kg" still finds coffee, "cinnamon sticks" shows ground
cinnamon after the sticks. Stopwords never need to match.

Intents (search.understanding: origin, quantities, pack sizes, B2B words) are taken out of
the text before it is planned, and come back as constant-score boosts beside the text query
(`intent_boosts`): they rank, they never narrow.

Filters are added as zero-scoring clauses (filter context): they narrow, never rank.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tantivy
from tantivy import FieldType, Occur, Query

from search import synonyms
from search.engines import embedded_typos as typos
from search.engines.embedded_schema import LANGUAGES, PLAIN, SCHEMA, analyze, stemmed
from search.query import Intents, SearchQuery

TITLE, DESCRIPTION, KEYWORDS = 3.0, 1.0, 1.2
BUYER_LANGUAGE = 1.5  # the fields in the buyer's language count this much more
SYNONYM = 0.9  # a synonym counts a little less than the word the buyer typed
FUZZY_TITLE, FUZZY_KEYWORDS, PREFIX_TITLE = 1.2, 0.3, 0.8  # constant scores of typo and prefix matches
TIE_BREAKER = 0.1
MIN_PREFIX = 3  # a last word shorter than this is not completed
COMMON = 20  # a word in this many documents is taken as spelt right: no typo or prefix matching
FEW = 5  # when fewer products than this match every word, products matching most words are added
ALL_WORDS_BONUS = 100.0  # ...after those matching every word
# Intent boosts: a product of the origin asked for comes before the same product from elsewhere
# (a title match scores about 5 to 15); a variant option or pack size asked for, a little.
ORIGIN, MEASURE, PACK, B2B_INTENT = 20.0, 4.0, 4.0, 3.0
# Words that never need to match (they still score when they do).
STOPWORDS = frozenset(
    "a an and at by for from in of on or per the to with "  # en
    "con de del el en la las los para por un una y "  # es
    "au aux avec d du des et l le les pour un une "  # fr
    "de een en het met van voor".split()  # nl
)
FACET_AGGREGATIONS = {
    "category": {"terms": {"field": "category_path", "size": 500}},
    "origin_country": {"terms": {"field": "origin_countries", "size": 300}},
    "merchant": {"terms": {"field": "merchant_facet", "size": 50}},
}


def facet_aggregations(rungs: tuple[int, ...]) -> dict[str, dict]:
    """Every facet's aggregation; the price facet counts products per rung (search.prices)."""
    ranges = [{"key": str(n), **({"from": low} if low else {}), **({"to": rungs[n + 1]} if n + 1 < len(rungs) else {})}
              for n, low in enumerate(rungs)]
    return {**FACET_AGGREGATIONS, "price": {"range": {"field": "price_usd", "ranges": ranges}}}


@dataclass
class Part:
    alternatives: list[str]  # folded: what the buyer typed first, then its synonyms
    optional: bool = False  # a stopword
    frequency: int = 0  # documents with the word as typed (most in any one field)
    correction: str | None = None  # the catalogue's word meant by an unknown one

    @property
    def common(self) -> bool:
        """Spelt right beyond doubt (found in many products, or a word of the synonym file):
        typo and prefix matching would only add work."""
        return self.frequency >= COMMON or (len(self.alternatives) > 1 and self.correction is None)

    @property
    def original(self) -> str:
        return self.alternatives[0]


@dataclass
class TextPlan:
    parts: list[Part]
    language: str
    last_is_prefix: bool = True
    required: list[Part] = field(init=False)
    _part_queries: list[Query] | None = field(init=False, default=None, repr=False)

    def __post_init__(self):
        self.required = [p for p in self.parts if not p.optional]

    def completes(self, part: Part) -> bool:
        """Whether a part also matches as a word prefix: the last word (the buyer may still be
        typing), and a word found nowhere as typed ("decaf", "choc")."""
        last = part is self.parts[-1] and self.last_is_prefix
        return not part.common and (last or part.frequency == 0)

    def query(self, minimum: int | None = None) -> Query | None:
        """All required parts (or at least `minimum` of them) must match; with fewer than all,
        products matching them all still come first."""
        if not self.parts:
            return None
        if self._part_queries is None:
            self._part_queries = [part_query(p, self.language, prefix=self.completes(p)) for p in self.parts]
        required = [q for p, q in zip(self.parts, self._part_queries, strict=True) if not p.optional]
        optional = [q for p, q in zip(self.parts, self._part_queries, strict=True) if p.optional]
        clauses: list[tuple[Occur, Query]] = []
        if required:
            need = len(required) if minimum is None else minimum
            if need >= len(required):
                clauses += [(Occur.Must, q) for q in required]
            else:
                clauses.append((Occur.Must, _at_least(required, need)))
                # Products matching every part stay first (among the others, matching more
                # parts already scores more).
                every = Query.boolean_query([(Occur.Must, q) for q in required])
                clauses.append((Occur.Should, Query.const_score_query(every, ALL_WORDS_BONUS)))
        clauses += [(Occur.Should, q) for q in optional]
        if not required:  # nothing but stopwords: one of them must match
            return Query.boolean_query(clauses, 1)
        return Query.boolean_query(clauses)

    def relaxations(self) -> list[int]:
        """How many required parts must match, strictest first."""
        n = len(self.required)
        return list(range(n, max(1, (n + 1) // 2) - 1, -1)) if n else [0]

    @property
    def corrections(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.correction for p in self.parts if p.correction))


def plan_text(text: str, language: str, searcher: tantivy.Searcher) -> TextPlan:
    """The buyer's words as parts, each knowing how common it is and, if unknown, what it
    probably meant."""
    language = language if language in LANGUAGES else "en"
    parts = [Part(alternatives) for alternatives in synonyms.expand(text)]
    for part in parts:
        part.optional = part.original in STOPWORDS and len(part.alternatives) == 1
        part.frequency = typos.frequency(searcher, part.original, language)
        if not (part.frequency or part.optional or part.common) and len(analyze(PLAIN, part.original)) == 1:
            _correct(part, searcher)
    if parts and all(p.optional for p in parts):
        for part in parts:
            part.optional = False
    return TextPlan(parts, language, last_is_prefix=not text.endswith(" "))


def _correct(part: Part, searcher: tantivy.Searcher) -> None:
    """Add the word the buyer meant, and its synonyms, as alternatives of an unknown word."""
    part.correction = typos.correction(searcher, analyze(PLAIN, part.original)[0])
    if part.correction:
        meant = synonyms.expand(part.correction)
        extra = meant[0] if len(meant) == 1 else [part.correction]
        part.alternatives += [a for a in extra if a not in part.alternatives]


def part_query(part: Part, language: str, *, prefix: bool) -> Query:
    subqueries = []
    for n, phrase in enumerate(part.alternatives):
        weight = 1.0 if n == 0 else SYNONYM
        for lang in LANGUAGES:
            boost = weight * (BUYER_LANGUAGE if lang == language else 1.0)
            subqueries += _boosted(match(f"title_{lang}", stemmed(lang), phrase), TITLE * boost)
            subqueries += _boosted(match(f"description_{lang}", stemmed(lang), phrase), DESCRIPTION * boost)
        subqueries += _boosted(match("keywords", stemmed("en"), phrase), KEYWORDS * weight)
    if not part.common:
        subqueries += typo_queries(part.original, language, prefix=prefix)
    return Query.disjunction_max_query(subqueries, TIE_BREAKER) if subqueries else Query.empty_query()


def intent_boosts(intents: Intents, audience: str) -> list[Query]:
    """Constant scores for what the buyer asked beyond product words."""
    boosts = []
    if intents.origins:
        boosts.append(Query.const_score_query(_any("origin_countries", intents.origins), ORIGIN))
    for option in (*intents.measures, *intents.packs):
        found = match("keywords", stemmed("en"), option)
        if found is not None:
            boosts.append(Query.const_score_query(found, PACK if option.startswith("case of") else MEASURE))
    if intents.b2b and audience == "b2b":
        boosts.append(Query.const_score_query(Query.term_query(SCHEMA, "b2b_only", True), B2B_INTENT))
    return boosts


def boosted(text: Query | None, boosts: list[Query]) -> Query | None:
    """The text query (all products when there is none) ranked up by the intent boosts."""
    if not boosts:
        return text
    base = text if text is not None else Query.const_score_query(Query.all_query(), 1.0)
    return Query.boolean_query([(Occur.Must, base), *((Occur.Should, b) for b in boosts)])


def match(field_name: str, analyzer: str, phrase: str) -> Query | None:
    tokens = analyze(analyzer, phrase)
    if not tokens:
        return None
    if len(tokens) == 1:
        return Query.term_query(SCHEMA, field_name, tokens[0])
    return Query.phrase_query(SCHEMA, field_name, tokens)


def typo_queries(original: str, language: str, *, prefix: bool) -> list[Query]:
    """Fuzzy (and, with `prefix`, completion) matches on the unstemmed title words and keywords."""
    tokens = analyze(PLAIN, original)
    if len(tokens) != 1:
        return []
    word = tokens[0]
    edits = synonyms.max_edits(word)
    queries = []
    for lang in LANGUAGES:
        boost = BUYER_LANGUAGE if lang == language else 1.0
        if edits:
            fuzzy = Query.fuzzy_term_query(SCHEMA, f"title_plain_{lang}", word, edits, True)
            queries.append(Query.boost_query(fuzzy, FUZZY_TITLE * boost))
        if prefix and len(word) >= MIN_PREFIX:
            completion = Query.fuzzy_term_query(SCHEMA, f"title_plain_{lang}", word, edits, True, True)
            queries.append(Query.boost_query(completion, PREFIX_TITLE * boost))
    if edits:
        queries.append(Query.boost_query(Query.fuzzy_term_query(SCHEMA, "keywords_plain", word, edits, True), FUZZY_KEYWORDS))
    return queries


def _at_least(queries: list[Query], count: int) -> Query:
    return Query.boolean_query([(Occur.Should, q) for q in queries], count)


def _boosted(query: Query | None, boost: float) -> list[Query]:
    return [Query.boost_query(query, boost)] if query is not None else []


# Removed products stay in the index as tombstones (see embedded_schema.tombstone): never found.
REMOVED = (Occur.MustNot, Query.term_query(SCHEMA, "live", False))


def audience_filters(audience: str) -> list[tuple[Occur, Query]]:
    """Anything but a B2B buyer is retail, and never finds B2B-only products."""
    return [] if audience == "b2b" else [(Occur.MustNot, Query.term_query(SCHEMA, "b2b_only", True))]


# Filters ---------------------------------------------------------------------------------------

def filters(query: SearchQuery) -> list[tuple[str | None, Occur, Query]]:
    """(the facet this filter is the selection of, or None; occur; query)."""
    found: list[tuple[str | None, Occur, Query]] = []
    if query.category:
        found.append(("category", Occur.Must, _term("category_path", query.category)))
    if query.origin_countries:
        found.append(("origin_country", Occur.Must, _any("origin_countries", query.origin_countries)))
    if query.merchant_ids:
        found.append(("merchant", Occur.Must, _any("merchant_id", query.merchant_ids)))
    if query.price_range_usd is not None:
        low, high = query.price_range_usd
        # a bucket excludes its upper bound; the top one has none, and tantivy wants that side inclusive
        found.append(("price", Occur.Must, _price(low, high, include_upper=high is None)))
    if query.merchant_regions:
        found.append((None, Occur.Must, _any("merchant_region", query.merchant_regions)))
    if query.ships_to:
        found.append((None, Occur.MustNot, _term("ships_to_exclusions", query.ships_to.upper())))
    if query.price_min_usd is not None or query.price_max_usd is not None:
        found.append((None, Occur.Must, _price(query.price_min_usd, query.price_max_usd, include_upper=True)))
    if query.in_stock:
        found.append((None, Occur.Must, Query.term_query(SCHEMA, "in_stock", True)))
    if query.b2b_only:
        found.append((None, Occur.Must, Query.term_query(SCHEMA, "b2b_only", True)))
    found += [(None, occur, clause) for occur, clause in audience_filters(query.audience)]
    return found


def combine(text: Query | None, active: list[tuple[str | None, Occur, Query]], *, without: str | None = None) -> Query:
    """The text query narrowed by the filters, except the selection of facet `without`."""
    clauses = [(Occur.Must, text if text is not None else Query.const_score_query(Query.all_query(), 1.0)), REMOVED]
    for facet, occur, query in active:
        if facet is not None and facet == without:
            continue
        clauses.append((occur, Query.const_score_query(query, 0.0) if occur is Occur.Must else query))
    return Query.boolean_query(clauses)


def _term(field_name: str, value: str) -> Query:
    return Query.term_query(SCHEMA, field_name, value)


def _any(field_name: str, values) -> Query:
    values = list(dict.fromkeys(values))
    return _term(field_name, values[0]) if len(values) == 1 else Query.term_set_query(SCHEMA, field_name, values)


def _price(low: int | None, high: int | None, *, include_upper: bool) -> Query:
    return Query.range_query(SCHEMA, "price_usd", FieldType.Integer, low, high, include_lower=True, include_upper=include_upper)


# Facets --------------------------------------------------------------------------------------

def facet_passes(text: Query | None, active, aggregations: dict[str, dict]) -> list[tuple[Query, dict]]:
    """Disjunctive counts: each facet counted under every filter except its own selection, so
    a buyer who picked one origin still sees how many products the other origins have. Facets
    with no selection share one aggregation pass; each selected facet needs one more. Returns
    (query, aggregations) per pass, for `searcher.aggregate`."""
    selected = {facet for facet, _, _ in active if facet is not None}
    passes = [(None, [f for f in aggregations if f not in selected])]
    passes += [(facet, [facet]) for facet in aggregations if facet in selected]
    return [(combine(text, active, without=without), {n: aggregations[n] for n in names})
            for without, names in passes if names]


def facet_values(results: list[dict]) -> dict[str, list[tuple[str, int]]]:
    """(value, count) per facet from the aggregation results of the passes."""
    counts: dict[str, list[tuple[str, int]]] = {}
    for result in results:
        for name, aggregation in result.items():
            buckets = aggregation.get("buckets", [])
            counts[name] = [(str(b["key"]), int(b["doc_count"])) for b in buckets if b["doc_count"] > 0]
    return counts
