"""The embedded engine's index layout: fields, analyzers, and a SearchDocument as a tantivy
document.

Per language (en, es, fr, nl), titles and descriptions go through that language's analyzer
(lower case, accents folded, Snowball stemmer), so "cafés" finds "Café" and "tostados" finds
"tostado"; these fields carry BM25 ranking. English is stemmed a little less (see
english_terms): a word ending in "-ing" keeps its ending, so "seasoning" does not find
"seasons" nor "drink" "drinking age". `keywords` adds what a buyer may type that is not
in the title: category names in every language, option values, the merchant's name.

Titles and keywords are indexed a second time, folded but not stemmed (`title_plain_<lang>`,
`keywords_plain`): typo tolerance (fuzzy terms) and completions work on real words, not on
stems ("cinamon" is one edit from "cinnamon" but three from its stem). Descriptions are not:
indexing them twice cost a fifth of the indexing rate, for typos in words that are rarely
the ones a buyer searches by.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from operator import attrgetter

import tantivy

from marketplace.catalog import taxonomy
from search.documents import Removal, SearchDocument
from search.query import merchant_facet_key

# Bumped whenever the layout below changes: an index written with another version is not
# opened (the engine starts an empty one and a rebuild fills it).
SCHEMA_VERSION = 5  # 2: merchant_facet; 3: version, and removals kept as tombstones; 4: keywords without the merchant's name;
# 5: English "-ing" words unstemmed, and the image a hit shows

LANGUAGES = ("en", "es", "fr", "nl")
STEMMERS = {"en": "english", "es": "spanish", "fr": "french", "nl": "dutch"}
PLAIN = "plain"
FACET_FIELDS = ("category_path", "origin_countries", "merchant_id", "merchant_region")
STORED = ("id", "title", "description", "merchant_id", "merchant_name", "merchant_handle", "category",
          "origin_countries", "price", "currency", "price_usd", "in_stock", "b2b_only", "popularity", "image_url")
# Popularity nudges relevance by at most a few tenths: score * (1 + POPULARITY_WEIGHT * log10(1 + units sold)).
POPULARITY_WEIGHT = 0.05


def stemmed(language: str) -> str:
    return f"stem_{language}"


def _analyzer(stemmer: str | None) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stemmer:
        builder = builder.filter(tantivy.Filter.stemmer(stemmer))
    return builder.build()


# Analyzers are built once: the engine registers them on every index it opens (tantivy does
# not store them with the index) and runs the query words through the same ones. English is
# the exception: its fields are given their terms already stemmed (english_terms, which a
# tantivy filter cannot express), so its registered analyzer only splits and folds them.
ANALYZERS: dict[str, tantivy.TextAnalyzer] = {stemmed(lang): _analyzer(STEMMERS[lang]) for lang in LANGUAGES}
ANALYZERS[PLAIN] = _analyzer(None)
_SNOWBALL_ENGLISH = ANALYZERS[stemmed("en")]
ANALYZERS[stemmed("en")] = ANALYZERS[PLAIN]
ENGLISH = stemmed("en")


def analyze(analyzer: str, text: str) -> list[str]:
    """The terms `analyzer` indexes `text` as (for English, english_terms)."""
    if analyzer == ENGLISH:
        return english_terms(text)
    return ANALYZERS[analyzer].analyze(text)


def english_terms(text: str) -> list[str]:
    """English words as the index holds them: Snowball's English stems, except for words
    ending in "-ing", which keep it ("-ings" loses its plural s). In a catalogue an "-ing"
    word is mostly a thing of its own (seasoning, dressing, icing, stuffing, drinking
    chocolate), not a form of the verb, and stemming it made "seasoning" find "seasons" and
    "drink" find "drinking age". Elasticsearch's cpu_en does the same with a keyword marker
    (elastic_mapping.ANALYSIS)."""
    words = ANALYZERS[PLAIN].analyze(text)
    stems = _SNOWBALL_ENGLISH.analyze(text)
    return [_english_term(word, stem) for word, stem in zip(words, stems, strict=True)]


def _english_term(word: str, stem: str) -> str:
    if word.endswith("ings"):
        return word[:-1]
    return word if word.endswith("ing") else stem


def english_text(text: str) -> str:
    """`text` as its English terms, for the English fields' analyzer to split again."""
    return " ".join(english_terms(text))


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", tokenizer_name="raw")
    # Versions (see search.documents): a document is replaced only by a higher one, and a removal
    # leaves a tombstone (`live` false, no other field) holding its version.
    builder.add_integer_field("version", stored=True)
    builder.add_boolean_field("live", indexed=True)
    for lang in LANGUAGES:
        builder.add_text_field(f"title_{lang}", tokenizer_name=stemmed(lang))
        builder.add_text_field(f"description_{lang}", tokenizer_name=stemmed(lang))
        builder.add_text_field(f"title_plain_{lang}", tokenizer_name=PLAIN, index_option="freq")
    # Category names in every language, option values and the merchant's name.
    builder.add_text_field("keywords", tokenizer_name=stemmed("en"))
    builder.add_text_field("keywords_plain", tokenizer_name=PLAIN, index_option="basic")
    for name in FACET_FIELDS:
        builder.add_text_field(name, tokenizer_name="raw", fast=True)
    builder.add_text_field("merchant_facet", tokenizer_name="raw", fast=True)  # counted, never searched
    builder.add_text_field("ships_to_exclusions", tokenizer_name="raw")
    builder.add_integer_field("price_usd", indexed=True, fast=True)
    builder.add_integer_field("popularity", fast=True)
    builder.add_integer_field("created_at", fast=True)
    builder.add_boolean_field("in_stock", indexed=True, fast=True)
    builder.add_boolean_field("b2b_only", indexed=True, fast=True)
    builder.add_float_field("boost", fast=True)
    builder.add_bytes_field("document", stored=True)
    return builder.build()


SCHEMA = build_schema()


def register_analyzers(index: tantivy.Index) -> tantivy.Index:
    for name, analyzer in ANALYZERS.items():
        index.register_tokenizer(name, analyzer)
    return index


def to_tantivy(document: SearchDocument) -> tantivy.Document:
    words = keywords(document)
    fields: dict[str, object] = {
        "id": document.id,
        "version": document.version,
        "live": True,
        "keywords": english_text(words),
        "keywords_plain": words,
        "category_path": document.category_path,
        "origin_countries": document.origin_countries,
        "merchant_id": document.merchant_id,
        "merchant_region": document.merchant_region,
        "merchant_facet": merchant_facet_key(document.merchant_id, document.merchant_name),
        "price_usd": document.price_usd,
        "popularity": document.popularity,
        "created_at": epoch_seconds(document.created_at),
        "in_stock": document.in_stock,
        "b2b_only": document.b2b_only,
        "boost": popularity_boost(document.popularity),
        "document": stored(document),
    }
    if document.ships_to_exclusions:
        fields["ships_to_exclusions"] = document.ships_to_exclusions
    for lang, title in document.title.items():
        if lang in STEMMERS:
            fields[f"title_{lang}"] = english_text(title) if lang == "en" else title
            fields[f"title_plain_{lang}"] = title
    for lang, text in document.description.items():
        if lang in STEMMERS:
            fields[f"description_{lang}"] = english_text(text) if lang == "en" else text
    return tantivy.Document.from_dict(fields, SCHEMA)  # a fifth faster than Document(**fields)


def tombstone(removal: Removal) -> tantivy.Document:
    """What stays of a removed document: its id and the version of its removal. No query
    finds it (searches exclude documents that are not live)."""
    return tantivy.Document.from_dict({"id": removal.id, "version": removal.version, "live": False}, SCHEMA)


_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
_STORED_VALUES = attrgetter(*STORED)


def stored(document: SearchDocument) -> bytes:
    """What a hit is made from, as JSON: the document's public fields that a result list
    shows. Not the variants (the product page reads them from the catalog): they would
    double the store and the time to write it."""
    return _ENCODER.encode(dict(zip(STORED, _STORED_VALUES(document), strict=True))).encode()


def keywords(document: SearchDocument) -> str:
    """What a buyer may search for that is not in the title: the category's names in every
    language (with its ancestors') and option values such as "whole bean" or "case of 12".
    Not the merchant's name: a shop called "Cibao Cacao y Café" made its chocolate match
    "café", and "Grenada Nutmeg Growers" its cloves match "nutmeg"."""
    names = _category_names()
    words = [names.get(slug, "") for slug in document.category_path]
    return " ".join([*words, *document.attributes])


_CATEGORY_NAMES: dict[str, str] = {}


def _category_names() -> dict[str, str]:
    if not _CATEGORY_NAMES:
        for slug, category in taxonomy.categories().items():
            _CATEGORY_NAMES[slug] = " ".join(dict.fromkeys(category.names.values()))
    return _CATEGORY_NAMES


def epoch_seconds(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def popularity_boost(units_sold: int) -> float:
    """The value for tantivy's `weight_by_field`, which multiplies a score by log2(2 + value):
    chosen so that the multiplier is 1 + POPULARITY_WEIGHT * log10(1 + units sold)."""
    multiplier = 1 + POPULARITY_WEIGHT * math.log10(1 + max(units_sold, 0))
    return 2**multiplier - 2
