"""The Elasticsearch index: settings, analyzers and mappings, and the bulk actions that fill it.

Pure functions (no client, no server), golden-tested in tests/search/test_elastic_golden.py.

Text fields are per language (title.en, description.fr, ...), each analyzed with that
language's stemmer after lowercasing and folding accents, so "café", "Cafe" and "cafés" meet.
Each has a `folded` subfield (lowercase + ASCII folding, no stemming) that the typo-tolerant
clauses query: edit distances are measured against the words as written, not against stems.
No stop-word filters: in a four-language catalog one language's stop word is another's
content word ("den", "de"), and dropping them would make a required word match nothing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator

from marketplace.catalog import taxonomy
from search.documents import Removal, SearchDocument
from search.query import merchant_facet_key

LANGUAGES = ("en", "es", "fr", "nl")  # the catalog's languages (marketplace.catalog.service)
FALLBACK_LANGUAGE = "en"
FOLDED = "cpu_folded"
KEYWORD_MAX = 1024  # longer values are not kept in keyword subfields (titles are rarely near it)

_FRENCH_ELISIONS = ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"]

ANALYSIS = {
    "filter": {
        "cpu_english_possessive": {"type": "stemmer", "language": "possessive_english"},
        # "-ing" words keep their ending ("-ings" loses its plural s), as in the embedded engine
        # (embedded_schema.english_terms): "seasoning" must not find "seasons".
        "cpu_english_ing_plural": {"type": "pattern_replace", "pattern": "ings$", "replacement": "ing"},
        "cpu_english_ing_words": {"type": "keyword_marker", "keywords_pattern": "ing$"},
        "cpu_english_stemmer": {"type": "stemmer", "language": "english"},
        "cpu_spanish_stemmer": {"type": "stemmer", "language": "light_spanish"},
        "cpu_french_elision": {"type": "elision", "articles_case": True, "articles": _FRENCH_ELISIONS},
        "cpu_french_stemmer": {"type": "stemmer", "language": "light_french"},
        "cpu_dutch_stemmer": {"type": "stemmer", "language": "dutch"},
    },
    "analyzer": {
        # Folding comes before stemming so that accented and unaccented spellings are stemmed alike.
        "cpu_en": {"type": "custom", "tokenizer": "standard",
                   "filter": ["cpu_english_possessive", "lowercase", "asciifolding", "cpu_english_ing_plural",
                              "cpu_english_ing_words", "cpu_english_stemmer"]},
        "cpu_es": {"type": "custom", "tokenizer": "standard",
                   "filter": ["lowercase", "asciifolding", "cpu_spanish_stemmer"]},
        "cpu_fr": {"type": "custom", "tokenizer": "standard",
                   "filter": ["cpu_french_elision", "lowercase", "asciifolding", "cpu_french_stemmer"]},
        "cpu_nl": {"type": "custom", "tokenizer": "standard",
                   "filter": ["lowercase", "asciifolding", "cpu_dutch_stemmer"]},
        FOLDED: {"type": "custom", "tokenizer": "standard",
                 "filter": ["cpu_french_elision", "lowercase", "asciifolding"]},
    },
    "normalizer": {
        FOLDED: {"type": "custom", "filter": ["lowercase", "asciifolding"]},
    },
}

_KEYWORD = {"type": "keyword"}
_FOLDED_KEYWORD = {"type": "keyword", "normalizer": FOLDED, "ignore_above": KEYWORD_MAX}


def index_settings_and_mappings() -> dict:
    """The body of the create-index request: {"settings": ..., "mappings": ...}."""
    return copy.deepcopy({
        "settings": {
            # One shard: the catalog is small enough, and scores and collapse stay exact.
            "number_of_shards": 1,
            "analysis": ANALYSIS,
        },
        "mappings": {
            # Strict: a new SearchDocument field must be given a mapping here, not guessed.
            "dynamic": "strict",
            "_source": {"enabled": True},
            "properties": {
                "id": _KEYWORD,
                "merchant_id": _KEYWORD,
                "merchant_name": _FOLDED_KEYWORD,
                "merchant_handle": _KEYWORD,
                "merchant_region": _KEYWORD,
                "merchant_facet": _KEYWORD,  # derived: "<id>|<name>", counted for the merchant facet
                "category": _KEYWORD,
                "category_path": _KEYWORD,
                "title": _per_language(keyword=True),
                "description": _per_language(keyword=False),
                "attributes": _FOLDED_KEYWORD,  # searched through `keywords`
                "origin_countries": _KEYWORD,
                "ships_to_exclusions": _KEYWORD,
                "b2b_only": {"type": "boolean"},
                "currency": _KEYWORD,
                "price": {"type": "long"},
                "price_usd": {"type": "long"},
                "in_stock": {"type": "boolean"},
                "popularity": {"type": "long"},
                "created_at": {"type": "date"},
                "image_url": {"type": "keyword", "index": False, "doc_values": False},  # shown, never searched
                # Kept in _source for the product page; never searched.
                "variants": {"type": "object", "enabled": False},
                # Not document fields, derived in document_source:
                # what a buyer may search for that is not in the title (as the embedded engine),
                "keywords": {"type": "text", "analyzer": "cpu_en",
                             "fields": {"folded": {"type": "text", "analyzer": FOLDED}}},
                # and the title in each language (else English, else any), for suggest().
                "suggest": {"type": "object", "dynamic": "strict", "properties": {
                    language: {"type": "search_as_you_type", "analyzer": FOLDED,
                               "fields": {"keyword": _FOLDED_KEYWORD}}
                    for language in LANGUAGES
                }},
            },
        },
    })


def _per_language(*, keyword: bool) -> dict:
    fields = {"folded": {"type": "text", "analyzer": FOLDED}}
    if keyword:
        fields["keyword"] = _FOLDED_KEYWORD
    return {"type": "object", "dynamic": "strict", "properties": {
        language: {"type": "text", "analyzer": f"cpu_{language}", "fields": fields} for language in LANGUAGES
    }}


def search_language(language: str) -> str:
    return language if language in LANGUAGES else FALLBACK_LANGUAGE


def localized(texts: dict[str, str], language: str) -> str:
    """The text in `language`, else in English, else in the first catalog language that has one."""
    for candidate in (language, FALLBACK_LANGUAGE, *LANGUAGES):
        text = (texts or {}).get(candidate)
        if text and text.strip():
            return text
    return ""


def document_source(document: SearchDocument) -> dict:
    source = document.as_dict()
    del source["version"]  # the document's version is Elasticsearch's own (bulk_actions), not a field
    source["keywords"] = keywords(document)
    source["merchant_facet"] = merchant_facet_key(document.merchant_id, document.merchant_name)
    source["suggest"] = {language: localized(document.title, language) for language in LANGUAGES}
    return source


def keywords(document: SearchDocument) -> str:
    """The category's names in every language (with its ancestors') and option values such as
    "whole bean" or "case of 12"; not the merchant's name (see embedded_schema.keywords)."""
    categories = taxonomy.categories()
    names = [" ".join(dict.fromkeys(categories[slug].names.values())) for slug in document.category_path
             if slug in categories]
    return " ".join([*names, *document.attributes])


def bulk_actions(documents: Iterable[SearchDocument], index: str) -> Iterator[dict]:
    """Actions for elasticsearch.helpers.bulk: one per document, its id as the _id, its version
    as an external version, so a document replaces only a lower version of itself (a rebuild's
    copy never overwrites a fresher one a live upsert wrote meanwhile, nor the other way round)."""
    for document in documents:
        yield {"_op_type": "index", "_index": index, "_id": document.id, "version": document.version,
               "version_type": "external", "_source": document_source(document)}


def delete_actions(removals: Iterable[Removal], index: str) -> Iterator[dict]:
    """External versions here too: Elasticsearch keeps a deleted document's version for a while
    (index.gc_deletes, 60 s by default), refusing an older copy sent after the delete."""
    for removal in removals:
        yield {"_op_type": "delete", "_index": index, "_id": removal.id, "version": removal.version,
               "version_type": "external"}


def unwritable(document: SearchDocument) -> str | None:
    """Why Elasticsearch cannot take the document, or None. Its JSON must be UTF-8: the client
    would send text that is not valid Unicode (a lone surrogate) as bytes the cluster refuses,
    failing every document of the bulk request with it."""
    try:
        json.dumps(document.as_dict(), ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError) as exc:
        return f"cannot be written: {exc}"
    return None
