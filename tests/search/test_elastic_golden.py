"""The Elasticsearch engine without an Elasticsearch server.

1. Golden tests: the index settings and mappings, and the request bodies for a representative
   set of queries, compared with tests/search/golden/*.json. After an intended change, rewrite
   them with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/search/test_elastic_golden.py`
   and review the diff by hand; the rules that matter are also asserted explicitly below.
2. Reading responses back: a hand-written response shaped like Elasticsearch 9's.
3. The engine's calls (rebuild, upsert, delete, search, suggest) through the official client
   against a fake Elasticsearch: a local HTTP server that records every request and keeps just
   enough state (indices, aliases, documents) to answer like Elasticsearch. A fake is used only
   because Elasticsearch is an outside system that is not available here; it shows which
   requests the engine sends and in which order, not how a real cluster ranks or analyzes
   (the behaviour tests run against a real server when ELASTICSEARCH_URL is set).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from elasticsearch import BadRequestError

from search.documents import GONE, Removal, SearchDocument, VariantDoc
from search.engines.elastic import (
    ElasticsearchEngine, SearchIndexError, bulk_actions, index_settings_and_mappings, query_body, search_result,
    suggest_body, suggestions,
)
from search.engines.elastic_query import TYPO_PARTS, relaxations, typo_words
from search.typos import edit_distance
from search.query import FACETS, USD_RUNGS, SORTS, FacetValue, Hit, SearchQuery, SearchResult
from search.synonyms import max_edits
from search import prices

GOLDEN = Path(__file__).with_name("golden")
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"

QUERIES = {
    "browse_defaults": SearchQuery(),
    "text_with_synonyms": SearchQuery(text="Blue Mountain coffee"),
    "phrase_synonym_spanish": SearchQuery(text="flor de jamaica seca", language="es"),
    "typo_words_4_6_10_letters": SearchQuery(text="hony ginjer marmallade"),
    "facet_selections": SearchQuery(text="rum", category="beverages", origin_countries=("JM", "BB"),
                                    merchant_ids=("mer_01A", "mer_01B"), price_range_usd=(2_500, 5_000)),
    "filters_without_facets": SearchQuery(text="rum", category="beverages/rum", origin_countries=("JM",),
                                          merchant_regions=("kin", "bgi"), merchant_ids=("mer_01A",),
                                          price_range_usd=(25_000, None), in_stock=True, facets=False),
    "sort_price_asc": SearchQuery(text="hot sauce", sort="price_asc"),
    "sort_price_desc": SearchQuery(text="hot sauce", sort="price_desc"),
    "sort_newest_second_page": SearchQuery(sort="newest", offset=20, limit=20),
    "ships_to_and_price_range": SearchQuery(text="nutmeg", ships_to="nl", price_min_usd=500, price_max_usd=2_500),
    "b2b_buyer_sees_all": SearchQuery(text="wholesale cocoa", audience="b2b"),
    "b2b_only_products": SearchQuery(audience="b2b", b2b_only=True, facets=False),
    "french_accents_unknown_language_falls_back": SearchQuery(text="Épices moulues", language="de"),
    "stopword_optional_last_word_completed": SearchQuery(text="pate de goyave", language="fr"),
    "typed_space_no_completion": SearchQuery(text="rhum vieux "),
    # Query understanding (search/understanding.py): intents leave the text, come back as boosts.
    "origin_boost_place_and_product": SearchQuery(text="coffee jamaica"),
    "origin_demonym_other_language": SearchQuery(text="ron dominicano", language="es"),
    "origin_alone_boosts_everything": SearchQuery(text="jamaica", facets=False),
    "quantity_and_pack_as_variant_options": SearchQuery(text="24 x 330 ml ginger beer"),
    "b2b_words_anonymous_caller_stays_retail": SearchQuery(text="wholesale cocoa"),
    # Price buckets round in the buyer's currency (search.prices): its rungs in US cents, and a
    # selected bucket (J$1,000-2,500) converted by the same function.
    "price_rungs_of_a_buyers_currency": SearchQuery(text="rum", price_rungs_usd=prices.ladder("JMD").usd,
                                                    price_range_usd=prices.selection_usd("100000-250000", "JMD")),
}
RELAXED = {"relaxed_two_of_four_parts": (SearchQuery(text="organic dark roast coffee"), 2)}


def assert_golden(name: str, value) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if UPDATE_GOLDEN:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path.name} is missing: run with UPDATE_GOLDEN=1, then review it by hand"
    assert json.loads(text) == json.loads(path.read_text(encoding="utf-8")), f"{path.name} differs"


# -- golden files --------------------------------------------------------------------------

def test_index_settings_and_mappings_match_golden():
    assert_golden("index_settings_and_mappings", index_settings_and_mappings())


@pytest.mark.parametrize("name", QUERIES)
def test_query_body_matches_golden(name):
    assert_golden(f"query_{name}", query_body(QUERIES[name]))


@pytest.mark.parametrize("name", RELAXED)
def test_relaxed_query_body_matches_golden(name):
    query, required_parts = RELAXED[name]
    assert_golden(f"query_{name}", query_body(query, required_parts))


@pytest.mark.parametrize(("name", "prefix", "language"), [("suggest_en", "blue mou", "en"),
                                                          ("suggest_unknown_language", "cafe", "pt")])
def test_suggest_body_matches_golden(name, prefix, language):
    assert_golden(name, suggest_body(prefix, language, 8))


# -- mappings ------------------------------------------------------------------------------

def mapping() -> dict:
    return index_settings_and_mappings()["mappings"]


def test_every_document_field_is_mapped_and_nothing_else_is_guessed():
    properties = mapping()["properties"]
    assert mapping()["dynamic"] == "strict"
    not_sent = {"version"}  # Elasticsearch's own version of the document, not a field of it
    assert set(properties) == {f.name for f in dataclasses.fields(SearchDocument)} - not_sent | {"keywords", "suggest", "merchant_facet"}


def test_languages_are_the_catalogs():
    from marketplace.catalog.service import LANGUAGES as CATALOG_LANGUAGES
    from search.engines.elastic_mapping import LANGUAGES

    assert LANGUAGES == CATALOG_LANGUAGES


@pytest.mark.parametrize(("language", "stemmer"), [("en", "english"), ("es", "light_spanish"),
                                                   ("fr", "light_french"), ("nl", "dutch")])
def test_each_language_is_lowercased_folded_then_stemmed(language, stemmer):
    analysis = index_settings_and_mappings()["settings"]["analysis"]
    chain = analysis["analyzer"][f"cpu_{language}"]["filter"]
    stemmers = [name for name in chain if analysis["filter"].get(name, {}).get("type") == "stemmer"
                and analysis["filter"][name]["language"] != "possessive_english"]
    assert [analysis["filter"][name]["language"] for name in stemmers] == [stemmer]
    assert chain.index("lowercase") < chain.index("asciifolding") < chain.index(stemmers[0])
    field = mapping()["properties"]["title"]["properties"][language]
    assert field["analyzer"] == f"cpu_{language}"
    assert analysis["analyzer"][field["fields"]["folded"]["analyzer"]]["filter"][-2:] == ["lowercase", "asciifolding"]


def test_english_ing_words_are_kept_from_the_stemmer_as_in_the_embedded_engine():
    """Issue 14: "seasoning" must not find "seasons", nor "drink" "drinking age". The keyword
    marker protects "-ing" words from the English stemmer; their plural loses its s first."""
    import re

    from search.engines.embedded_schema import english_terms

    analysis = index_settings_and_mappings()["settings"]["analysis"]
    chain = analysis["analyzer"]["cpu_en"]["filter"]
    plural, marker = analysis["filter"]["cpu_english_ing_plural"], analysis["filter"]["cpu_english_ing_words"]
    assert chain.index("asciifolding") < chain.index("cpu_english_ing_plural") < chain.index("cpu_english_ing_words") \
        < chain.index("cpu_english_stemmer")
    assert marker["type"] == "keyword_marker" and plural["type"] == "pattern_replace"
    for word in ("seasoning", "seasonings", "drinking", "seasons", "drink"):
        after = re.sub(plural["pattern"], plural["replacement"], word)
        protected = re.search(marker["keywords_pattern"], after) is not None
        embedded = english_terms(word)[0]
        assert protected == embedded.endswith("ing") and (not protected or after == embedded), word


def test_filter_and_sort_fields_have_exact_types():
    properties = mapping()["properties"]
    for name in ("category_path", "origin_countries", "merchant_id", "merchant_region", "ships_to_exclusions", "id"):
        assert properties[name]["type"] == "keyword", name
    assert {properties[n]["type"] for n in ("price_usd", "popularity")} == {"long"}
    assert properties["created_at"]["type"] == "date"
    assert {properties[n]["type"] for n in ("in_stock", "b2b_only")} == {"boolean"}
    assert properties["suggest"]["properties"]["en"]["type"] == "search_as_you_type"
    assert mapping()["_source"] == {"enabled": True}


def document(n: int = 1, **changes) -> SearchDocument:
    values = dict(
        id=f"prd_{n:02d}", merchant_id="mer_01A", merchant_name="Blue Hills", merchant_handle="blue-hills",
        merchant_region="kin", category="food/coffee", category_path=["food", "food/coffee"],
        title={"en": f"Blue Mountain Coffee {n}", "es": f"Café Blue Mountain {n}"},
        description={"en": "Roasted in Kingston."}, attributes=["250 g", "dark roast"], origin_countries=["JM"],
        ships_to_exclusions=["US"], b2b_only=False, currency="JMD", price=450_000, price_usd=2_871, in_stock=True,
        popularity=3, created_at="2025-01-02T03:04:05+00:00",
        variants=[VariantDoc("var_1", "BM-250", {"size": "250 g"}, 450_000, [], 1, 1, True)], version=1,
    )
    return SearchDocument(**(values | changes))


def test_bulk_actions_index_each_document_by_id_with_keywords_and_titles_for_suggestions():
    [action] = bulk_actions([document(title={"es": "Café"})], "cpu-products")
    assert (action["_op_type"], action["_index"], action["_id"]) == ("index", "cpu-products", "prd_01")
    assert (action["version"], action["version_type"]) == (1, "external")  # the product's revision
    source = action["_source"]
    derived = ("keywords", "suggest", "merchant_facet")
    assert {k: v for k, v in source.items() if k not in derived} == {k: v for k, v in document(title={"es": "Café"}).as_dict().items() if k != "version"}
    assert "version" not in source  # Elasticsearch's own: metadata, not a field
    assert source["suggest"] == {"en": "Café", "es": "Café", "fr": "Café", "nl": "Café"}  # fallback: any title
    assert source["keywords"] == "Food Alimentos Alimentation Voeding Coffee Café Koffie 250 g dark roast"
    assert source["merchant_facet"] == "mer_01A|Blue Hills"  # the facet shows the name, selects by the id


# -- query rules, asserted explicitly --------------------------------------------------------

def clauses(node, key):
    """Every value under `key` anywhere in a request body."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from clauses(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from clauses(item, key)


def typo_clause(body: dict, word: str) -> dict:
    [found] = [m for m in clauses(body, "multi_match") if m["query"] == word and "fuzziness" in m]
    return found


def test_fuzziness_is_1_from_4_letters_and_2_from_7():
    body = query_body(QUERIES["typo_words_4_6_10_letters"])
    fuzziness = {word: typo_clause(body, word)["fuzziness"] for word in ("hony", "ginjer", "marmallade")}
    assert fuzziness == {"hony": 1, "ginjer": 1, "marmallade": 2}
    assert typo_clause(query_body(SearchQuery(text="cinammon")), "cinammon")["fuzziness"] == 2
    assert fuzziness == {word: max_edits(word) for word in fuzziness}
    assert "AUTO" not in json.dumps(body).upper()


def test_typos_are_matched_on_folded_subfields_and_words_on_stemmed_fields():
    body = query_body(SearchQuery(text="ginjer"))
    typo = typo_clause(body, "ginjer")
    assert all(f.split("^")[0].endswith(".folded") for f in typo["fields"])
    assert typo["prefix_length"] == 0 and typo["_name"] == "typo:ginjer"
    [exact] = [m for m in clauses(body, "multi_match") if m.get("_name") == "word:ginjer"]
    assert "fuzziness" not in exact and not any(".folded" in f for f in exact["fields"])
    assert exact["fields"][:2] == ["title.en^4.5", "title.es^3"]  # the buyer's language first and boosted


def names(node) -> list[str]:
    return [clause.get("_name") for clause in clauses(node, "multi_match")]


def test_every_part_is_required_and_any_synonym_alternative_satisfies_it():
    body = query_body(SearchQuery(text="sorrel punch"))
    sorrel, punch = body["query"]["bool"]["must"]
    assert names(sorrel) == ["word:sorrel", "word:hibiscus", "phrase:flor de jamaica", "word:oseille", "typo:sorrel"]
    assert [m.get("boost", 1) for m in clauses(sorrel, "multi_match")][:4] == [1, 0.9, 0.9, 0.9]  # synonyms lower
    assert sorrel["dis_max"]["queries"][2]["multi_match"]["type"] == "phrase"
    assert names(punch) == ["word:punch", "typo:punch", "prefix:punch"]  # the last word is being typed


def test_a_last_word_is_completed_only_from_three_letters_and_while_typing():
    assert names(query_body(SearchQuery(text="rum ca"))["query"]["bool"]["must"][1]) == ["word:ca", None]
    assert "prefix:cac" in names(query_body(SearchQuery(text="rum cac")))
    assert not [n for n in names(query_body(QUERIES["typed_space_no_completion"])) if n and n.startswith("prefix:")]
    [prefix] = [m for m in clauses(query_body(SearchQuery(text="guavab")), "multi_match") if m["type"] == "bool_prefix"]
    assert all(f.startswith("title.") and ".folded" in f for f in prefix["fields"])


def test_stopwords_only_score_unless_there_is_nothing_else():
    boolean = query_body(QUERIES["stopword_optional_last_word_completed"])["query"]["bool"]
    assert [names(part)[0] for part in boolean["must"]] == ["word:pate", "word:goyave"]
    assert names(boolean["should"]) == ["word:de", None]
    assert [names(part)[0] for part in query_body(SearchQuery(text="de la"))["query"]["bool"]["must"]] == [
        "word:de", "word:la"]


def test_stopwords_are_the_embedded_engines():
    from search.engines.elastic_query import MIN_PREFIX, STOPWORDS
    from search.engines.embedded_query import MIN_PREFIX as EMBEDDED_MIN_PREFIX
    from search.engines.embedded_query import STOPWORDS as EMBEDDED_STOPWORDS

    assert (STOPWORDS, MIN_PREFIX) == (EMBEDDED_STOPWORDS, EMBEDDED_MIN_PREFIX)


@pytest.mark.parametrize(("text", "steps"), [("", [None]), ("coffee", [None]), ("cinamn basket", [None, 1]),
                                             ("blue mountain coffee", [None, 2]),
                                             ("wholesale coffee 10 kg", [None, 3, 2]),
                                             ("coffee from the hills", [None, 1])])
def test_relaxations_drop_one_required_part_at_a_time_down_to_half(text, steps):
    assert relaxations(text) == steps


def test_a_relaxed_query_needs_only_some_parts():
    query = RELAXED["relaxed_two_of_four_parts"][0]
    strict, relaxed = query_body(query)["query"]["bool"], query_body(query, 2)["query"]["bool"]
    [either] = relaxed["must"]
    assert either["bool"]["minimum_should_match"] == 2 and either["bool"]["should"] == strict["must"]


def test_selected_facets_filter_hits_in_post_filter_and_count_only_other_facets_selections():
    body = query_body(QUERIES["facet_selections"])
    own = {
        "category": {"term": {"category_path": "beverages"}},
        "origin_country": {"terms": {"origin_countries": ["JM", "BB"]}},
        "merchant": {"terms": {"merchant_id": ["mer_01A", "mer_01B"]}},
        "price": {"range": {"price_usd": {"gte": 2_500, "lt": 5_000}}},
    }
    assert body["post_filter"] == {"bool": {"filter": list(own.values())}}
    assert set(body["aggs"]) == set(FACETS)
    for facet in FACETS:
        aggregation_filter = body["aggs"][facet]["filter"]["bool"]["filter"]
        assert own[facet] not in aggregation_filter, f"{facet} counts must ignore its own selection"
        assert aggregation_filter == [clause for name, clause in own.items() if name != facet]
    for clause in own.values():
        assert clause not in body["query"]["bool"].get("filter", [])
    assert body["query"]["bool"]["filter"] == [{"term": {"b2b_only": False}}]


def test_facet_aggregations_without_selections_count_everything_the_query_matches():
    body = query_body(SearchQuery(text="rum"))
    assert "post_filter" not in body
    assert all(body["aggs"][facet]["filter"] == {"match_all": {}} for facet in FACETS)
    price = body["aggs"]["price"]["aggs"]["values"]["range"]
    assert price["field"] == "price_usd"
    assert [(r.get("from"), r.get("to")) for r in price["ranges"]] == list(zip(USD_RUNGS, [*USD_RUNGS[1:], None], strict=True))
    assert [r["key"] for r in price["ranges"]] == [str(n) for n in range(len(USD_RUNGS))]
    assert body["aggs"]["category"]["aggs"]["values"]["terms"]["field"] == "category_path"


def test_without_facets_selections_are_plain_filters():
    body = query_body(QUERIES["filters_without_facets"])
    assert "post_filter" not in body and "aggs" not in body
    filters = body["query"]["bool"]["filter"]
    assert {"term": {"category_path": "beverages/rum"}} in filters
    assert {"range": {"price_usd": {"gte": 25_000}}} in filters
    assert {"terms": {"merchant_region": ["kin", "bgi"]}} in filters
    assert {"term": {"in_stock": True}} in filters


def test_retail_buyers_never_see_b2b_only_products_and_b2b_buyers_see_all():
    assert {"term": {"b2b_only": False}} in query_body(SearchQuery())["query"]["bool"]["filter"]
    assert {"term": {"b2b_only": False}} in query_body(SearchQuery(audience="anything"))["query"]["bool"]["filter"]
    b2b = query_body(QUERIES["b2b_buyer_sees_all"])["query"]["bool"]
    assert not any("b2b_only" in json.dumps(clause) for clause in b2b.get("filter", []))
    assert query_body(QUERIES["b2b_only_products"])["query"]["bool"]["filter"] == [{"term": {"b2b_only": True}}]


def test_ships_to_excludes_products_that_cannot_ship_there_and_price_range_is_inclusive():
    boolean = query_body(QUERIES["ships_to_and_price_range"])["query"]["bool"]
    assert boolean["must_not"] == [{"term": {"ships_to_exclusions": "NL"}}]
    assert {"range": {"price_usd": {"gte": 500, "lte": 2_500}}} in boolean["filter"]


@pytest.mark.parametrize(("sort", "first"), [("relevance", {"_score": "desc"}), ("price_asc", {"price_usd": "asc"}),
                                             ("price_desc", {"price_usd": "desc"}),
                                             ("newest", {"created_at": "desc"})])
def test_each_sort_orders_first_by_its_field_and_ends_with_a_unique_tie_breaker(sort, first):
    order = query_body(SearchQuery(text="rum", sort=sort))["sort"]
    assert order[0] == first
    assert "id" in order[-1]
    assert set(SORTS) == {"relevance", "price_asc", "price_desc", "newest"}


def test_paging_highlighting_and_returned_fields():
    body = query_body(SearchQuery(text="rum", offset=40, limit=10))
    assert (body["from"], body["size"], body["track_total_hits"]) == (40, 10, True)
    highlight = body["highlight"]
    assert (highlight["pre_tags"], highlight["post_tags"], highlight["encoder"]) == (["<mark>"], ["</mark>"], "html")
    assert list(highlight["fields"])[:4] == ["title.en", "title.en.folded", "description.en", "description.en.folded"]
    assert "variants" not in body["_source"] and "description" not in body["_source"]
    assert "highlight" not in query_body(SearchQuery())


@pytest.mark.parametrize("query", [SearchQuery(sort="cheapest"), SearchQuery(offset=-1)])
def test_invalid_queries_are_refused(query):
    with pytest.raises(ValueError):
        query_body(query)


# -- reading responses ---------------------------------------------------------------------

SAMPLE_RESPONSE = {
    "took": 7, "timed_out": False,
    "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
    "hits": {
        "total": {"value": 42, "relation": "eq"},
        "max_score": 8.25,
        "hits": [
            {
                "_index": "cpu-products-20250102-030405-000001", "_id": "prd_01", "_score": 8.25,
                "_source": {
                    "id": "prd_01", "title": {"en": "Blue Mountain Coffee & Co", "es": "Café Blue Mountain"},
                    "merchant_id": "mer_01A", "merchant_name": "Blue Hills", "merchant_handle": "blue-hills",
                    "category": "food/coffee", "origin_countries": ["JM"], "price": 450000, "currency": "JMD",
                    "price_usd": 2871, "in_stock": True, "b2b_only": False,
                },
                "highlight": {
                    "title.en": ["<mark>Blue</mark> Mountain Coffee &amp; Co"],
                    "title.en.folded": ["<mark>Blue</mark> Mountain <mark>Coffee</mark> &amp; Co"],
                    "description.en.folded": ["Fresh <mark>coffee</mark> from the hills"],
                },
                "matched_queries": ["word:blue", "typo:cofee"],
            },
            {
                "_index": "cpu-products-20250102-030405-000001", "_id": "prd_02", "_score": 3.5,
                "_source": {
                    "id": "prd_02", "title": {"es": "Café <tostado>"},
                    "merchant_id": "mer_01B", "merchant_name": "Tostadores", "merchant_handle": None,
                    "category": "food/coffee", "origin_countries": ["DO", "JM"], "price": 90000, "currency": "DOP",
                    "price_usd": 1520, "in_stock": False, "b2b_only": True,
                },
                "matched_queries": {"typo:cofee": 1.2, "word:blue": 2.0},
            },
        ],
    },
    "aggregations": {
        "category": {"doc_count": 42, "values": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                     "buckets": [{"key": "food", "doc_count": 40}, {"key": "food/coffee", "doc_count": 38}]}},
        "origin_country": {"doc_count": 42, "values": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                           "buckets": [{"key": "JM", "doc_count": 30}, {"key": "DO", "doc_count": 12}]}},
        "merchant": {"doc_count": 42, "values": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                     "buckets": [{"key": "mer_01A", "doc_count": 25}, {"key": "mer_01B", "doc_count": 17}]}},
        "price": {"doc_count": 42, "values": {"buckets": [
            {"key": "0", "from": 0.0, "to": 1000.0, "doc_count": 0},
            {"key": "1", "from": 1000.0, "to": 2500.0, "doc_count": 20},
            {"key": "2", "from": 2500.0, "to": 5000.0, "doc_count": 22},
            {"key": "3", "from": 5000.0, "to": 10000.0, "doc_count": 0},
            {"key": "4", "from": 10000.0, "to": 25000.0, "doc_count": 0},
            {"key": "5", "from": 25000.0, "doc_count": 0},
        ]}},
    },
}


def test_search_response_becomes_a_search_result():
    result = search_result(SAMPLE_RESPONSE, SearchQuery(text="blue cofee"))
    assert result == SearchResult(
        items=[
            Hit(id="prd_01", score=8.25, title="Blue Mountain Coffee & Co",
                highlight="<mark>Blue</mark> Mountain <mark>Coffee</mark> &amp; Co",  # the folded title: more marks
                merchant_id="mer_01A", merchant_name="Blue Hills", merchant_handle="blue-hills",
                category="food/coffee", origin_countries=("JM",), price=450000, currency="JMD", price_usd=2871,
                in_stock=True, b2b_only=False),
            Hit(id="prd_02", score=3.5, title="Café <tostado>", highlight="Café &lt;tostado&gt;",  # escaped fallback
                merchant_id="mer_01B", merchant_name="Tostadores", merchant_handle=None, category="food/coffee",
                origin_countries=("DO", "JM"), price=90000, currency="DOP", price_usd=1520, in_stock=False,
                b2b_only=True),
        ],
        total=42,
        facets={
            "category": [FacetValue("food", 40), FacetValue("food/coffee", 38)],
            "origin_country": [FacetValue("JM", 30), FacetValue("DO", 12)],
            "merchant": [FacetValue("mer_01A", 25), FacetValue("mer_01B", 17)],
            "price": [FacetValue("1", 20), FacetValue("2", 22)],
        },
        corrected_terms=("coffee",),
    )


def test_a_word_found_as_typed_is_not_reported_as_corrected():
    response = json.loads(json.dumps(SAMPLE_RESPONSE))
    response["hits"]["hits"][0]["matched_queries"].append("word:cofee")
    result = search_result(response, SearchQuery(text="blue cofee", facets=False))
    assert result.corrected_terms == () and result.facets == {}


def test_hits_sorted_by_a_field_score_zero_as_on_the_embedded_engine():
    response = json.loads(json.dumps(SAMPLE_RESPONSE))
    response["hits"]["hits"][0]["_score"] = None
    assert [hit.score for hit in search_result(response, SearchQuery(text="blue cofee", sort="price_asc")).items] == [
        0.0, 0.0]


def test_a_snippet_in_the_buyers_language_is_preferred():
    response = json.loads(json.dumps(SAMPLE_RESPONSE))
    response["hits"]["hits"][0]["highlight"]["description.es"] = ["<mark>Café</mark> de altura"]
    [first, _] = search_result(response, SearchQuery(text="cafe", language="es")).items
    assert first.title == "Café Blue Mountain" and first.highlight == "<mark>Café</mark> de altura"


def test_edit_distance_counts_a_swap_of_neighbours_as_one():
    assert edit_distance("cofee", "coffee", 3) == 1
    assert edit_distance("ginjer", "ginger", 3) == 1
    assert edit_distance("hnoey", "honey", 3) == 1
    assert edit_distance("marmallade", "marmalade", 3) == 1
    assert edit_distance("abc", "", 3) == 3


def test_suggestions_are_titles_each_once():
    response = {"hits": {"hits": [
        {"_id": "1", "_score": 3.0, "_source": {"suggest": {"en": "Blue Mountain Coffee"}}},
        {"_id": "2", "_score": 2.0, "_source": {"suggest": {"en": "blue mountain coffee"}}},
        {"_id": "3", "_score": 1.0, "_source": {"suggest": {"en": "Blue Mahoe Honey"}}},
    ]}}
    assert suggestions(response, "en") == ["Blue Mountain Coffee", "Blue Mahoe Honey"]


# -- the engine against a fake Elasticsearch -------------------------------------------------

def es_error(kind: str, reason: str, status: int) -> tuple[int, dict]:
    return status, {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
                    "status": status}


class FakeElasticsearch:
    """Indices, aliases and documents behind the few endpoints the engine uses, answering as
    Elasticsearch 9 documents them; every request is recorded as (method, path, query, body)."""

    def __init__(self):
        self.indices: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict, object]] = []
        self.search_response: dict | None = None
        self.search_responses: list[dict] = []  # answered first, one per search
        self.reject_ids: set[str] = set()  # refused as a bad document (400)
        self.overloaded_ids: set[str] = set()  # refused for now (429), as a busy cluster does
        self.auto_created: list[str] = []
        self.lock = threading.Lock()
        self.url = ""

    def add_index(self, name: str, *aliases: str, docs=()) -> None:
        self.indices[name] = {"aliases": set(aliases), "docs": {d.id: d.as_dict() for d in docs},
                              "versions": {d.id: d.version for d in docs}, "body": {}}

    def behind(self, alias: str) -> list[str]:
        return sorted(name for name, index in self.indices.items() if alias in index["aliases"])

    def resolve(self, name: str) -> list[str]:
        return [name] if name in self.indices else self.behind(name)

    def calls(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _, _ in self.requests]

    def bodies(self, method: str, path: str) -> list:
        return [body for m, p, _, body in self.requests if (m, p) == (method, path)]

    def handle(self, method: str, path: str, query: dict, raw: bytes) -> tuple[int, dict]:
        if path.endswith("/_bulk"):
            body = [json.loads(line) for line in raw.splitlines() if line.strip()]
        else:
            body = json.loads(raw) if raw else None
        with self.lock:
            self.requests.append((method, path, query, body))
            return self.route(method, path, query, body)

    def route(self, method, path, query, body) -> tuple[int, dict]:
        parts = [part for part in path.split("/") if part]
        if parts[-1:] == ["_bulk"]:
            return self.bulk(body, query)
        if parts[-1:] == ["_search"]:
            return self.search(parts[0], body)
        if parts[-1:] == ["_refresh"]:
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if method == "GET" and parts[:1] == ["_alias"]:
            return self.get_alias(parts[1])
        if method == "POST" and parts == ["_aliases"]:
            return self.update_aliases(body["actions"])
        if method == "PUT" and len(parts) == 1:
            return self.create(parts[0], body)
        if method == "DELETE" and len(parts) == 1:
            return self.delete_indices(parts[0].split(","))
        return es_error("unsupported_by_fake", f"{method} {path}", 400)

    def create(self, name, body):
        if name in self.indices:
            return es_error("resource_already_exists_exception", f"index [{name}] already exists", 400)
        self.add_index(name, *(body.get("aliases") or {}))
        self.indices[name]["body"] = body
        return 200, {"acknowledged": True, "shards_acknowledged": True, "index": name}

    def get_alias(self, alias):
        names = self.behind(alias)
        if not names:
            return 404, {"error": f"alias [{alias}] missing", "status": 404}
        return 200, {name: {"aliases": {alias: {}}} for name in names}

    def update_aliases(self, actions):
        for action in actions:  # all or nothing: check every action before applying any
            [(kind, spec)] = action.items()
            if kind == "add" and spec["alias"] in self.indices:
                return es_error("invalid_alias_name_exception",
                                f"Invalid alias name [{spec['alias']}]: an index or data stream exists with the same "
                                "name as the alias", 400)
            if spec["index"] not in self.indices:
                return es_error("index_not_found_exception", f"no such index [{spec['index']}]", 404)
            if kind == "remove" and spec["alias"] not in self.indices[spec["index"]]["aliases"]:
                return es_error("aliases_not_found_exception", f"aliases [{spec['alias']}] missing", 404)
        for action in actions:
            [(kind, spec)] = action.items()
            aliases = self.indices[spec["index"]]["aliases"]
            aliases.add(spec["alias"]) if kind == "add" else aliases.discard(spec["alias"])
        return 200, {"acknowledged": True, "errors": False}

    def delete_indices(self, names):
        missing = [name for name in names if name not in self.indices]
        if missing:
            return es_error("index_not_found_exception", f"no such index [{missing[0]}]", 404)
        for name in names:
            del self.indices[name]
        return 200, {"acknowledged": True}

    def bulk(self, lines, query):
        items, position = [], 0
        while position < len(lines):
            [(op, meta)] = lines[position].items()
            source = None if op == "delete" else lines[position + 1]
            position += 1 if op == "delete" else 2
            require_alias = query.get("require_alias") == "true"
            items.append({op: self.write(op, meta, source, require_alias)})
        return 200, {"took": 1, "errors": any(next(iter(i.values()))["status"] >= 300 for i in items), "items": items}

    def write(self, op, meta, source, require_alias):
        name, id_ = meta["_index"], meta["_id"]
        targets = self.resolve(name)
        if not targets:
            if op == "delete" or require_alias:
                return {"_index": name, "_id": id_, "status": 404, "error": {
                    "type": "index_not_found_exception", "reason": f"no such index [{name}]", "index": name}}
            self.add_index(name)  # what Elasticsearch does without require_alias: guessed mappings
            self.auto_created.append(name)
            targets = [name]
        if len(targets) > 1:
            return {"_index": name, "_id": id_, "status": 400, "error": {
                "type": "illegal_argument_exception", "reason": f"no write index is defined for alias [{name}]"}}
        index = self.indices[targets[0]]
        docs, versions = index["docs"], index["versions"]
        done = {"_index": targets[0], "_id": id_}
        if id_ in self.reject_ids and op != "delete":
            return done | {"status": 400, "error": {"type": "document_parsing_exception", "reason": "rejected"}}
        if id_ in self.overloaded_ids:
            return done | {"status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}
        if op == "create" and id_ in docs:
            return done | {"status": 409, "error": {"type": "version_conflict_engine_exception",
                                                    "reason": f"[{id_}]: version conflict, document already exists"}}
        # External versioning: a write must bring a higher version than the one kept, a delete's included.
        if meta.get("version_type") == "external" and id_ in versions and meta["version"] <= versions[id_]:
            return done | {"status": 409, "error": {"type": "version_conflict_engine_exception", "reason":
                           f"[{id_}]: version conflict, current version [{versions[id_]}] is higher or equal to the "
                           f"one provided [{meta['version']}]"}}
        if meta.get("version_type") == "external":
            versions[id_] = meta["version"]
        if op == "delete":
            found = docs.pop(id_, None) is not None
            return done | {"result": "deleted" if found else "not_found", "status": 200 if found else 404}
        created = id_ not in docs
        docs[id_] = source
        return done | {"result": "created" if created else "updated", "status": 201 if created else 200}

    def search(self, name, body):
        if not self.resolve(name):
            return es_error("index_not_found_exception", f"no such index [{name}]", 404)
        if self.search_responses:
            return 200, self.search_responses.pop(0)
        return 200, self.search_response or {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        status, payload = self.server.fake.handle(self.command, url.path, query, raw)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")  # the official client checks for it
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = _serve

    def log_message(self, *args):
        pass


@pytest.fixture
def fake():
    fake = FakeElasticsearch()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def engine(fake):
    return ElasticsearchEngine(url=fake.url)


def test_rebuild_loads_a_new_index_then_moves_the_alias_in_one_atomic_call_then_deletes_the_old(fake, engine):
    fake.add_index("cpu-products-old", "cpu-products", docs=[document(9)])
    reported = []

    assert engine.rebuild((document(n) for n in (1, 2, 3)), progress=reported.append).indexed == 3

    [new] = fake.indices  # the old index is gone
    assert new.startswith("cpu-products-") and new[len("cpu-products-"):].replace("-", "").isdigit()
    assert fake.indices[new]["aliases"] == {"cpu-products"}
    assert sorted(fake.indices[new]["docs"]) == ["prd_01", "prd_02", "prd_03"]
    assert reported == [3]
    assert fake.calls() == [
        ("GET", "/_alias/cpu-products-building"),  # no abandoned build to clear
        ("PUT", f"/{new}"),
        ("PUT", "/_bulk"),
        ("POST", f"/{new}/_refresh"),
        ("GET", "/_alias/cpu-products"),
        ("POST", "/_aliases"),  # the one switch ...
        ("DELETE", "/cpu-products-old"),  # ... and only after it, the old index goes
    ]
    assert fake.bodies("PUT", f"/{new}") == [index_settings_and_mappings() | {"aliases": {"cpu-products-building": {}}}]
    assert fake.bodies("POST", "/_aliases") == [{"actions": [
        {"remove": {"index": "cpu-products-old", "alias": "cpu-products"}},
        {"add": {"index": new, "alias": "cpu-products"}},
        {"remove": {"index": new, "alias": "cpu-products-building"}},
    ]}]
    [bulk] = fake.bodies("PUT", "/_bulk")
    assert bulk[0::2] == [{"index": {"_id": f"prd_0{n}", "_index": new, "version": 1, "version_type": "external"}}
                          for n in (1, 2, 3)]
    assert not fake.auto_created


def test_first_rebuild_only_adds_the_alias(fake, engine):
    assert engine.rebuild([document(1)]).indexed == 1
    [new] = fake.indices
    assert fake.bodies("POST", "/_aliases") == [{"actions": [
        {"add": {"index": new, "alias": "cpu-products"}},
        {"remove": {"index": new, "alias": "cpu-products-building"}},
    ]}]
    assert not [call for call in fake.calls() if call[0] == "DELETE"]


def test_rebuild_reports_progress_after_each_chunk(fake):
    engine = ElasticsearchEngine(url=fake.url, chunk_size=2)
    reported = []
    assert engine.rebuild([document(n) for n in range(1, 6)], progress=reported.append).indexed == 5
    assert reported == [2, 4, 5]
    assert len(fake.bodies("PUT", "/_bulk")) == 3


def test_a_failed_rebuild_leaves_searches_on_the_old_index_and_removes_its_own(fake, engine):
    fake.add_index("cpu-products-old", "cpu-products", docs=[document(9)])
    fake.overloaded_ids = {"prd_02"}  # the cluster refused a write for now: the rebuild cannot be complete
    with pytest.raises(SearchIndexError, match="rebuild"):
        engine.rebuild([document(1), document(2)])
    assert list(fake.indices) == ["cpu-products-old"]
    assert fake.indices["cpu-products-old"]["aliases"] == {"cpu-products"}
    assert ("POST", "/_aliases") not in fake.calls()
    assert fake.calls()[-1][0] == "DELETE"


def test_a_refused_alias_switch_leaves_everything_as_it_was(fake, engine):
    fake.add_index("cpu-products", docs=[document(9)])  # an index where the alias should be, e.g. made by hand
    with pytest.raises(BadRequestError):
        engine.rebuild([document(1)])
    assert list(fake.indices) == ["cpu-products"]
    assert fake.calls()[-2:][0] == ("POST", "/_aliases") and fake.calls()[-1][0] == "DELETE"


def test_an_abandoned_build_is_deleted_before_a_new_one_starts(fake, engine):
    fake.add_index("cpu-products-20240101-000000-000000", "cpu-products-building", docs=[document(7)])
    engine.rebuild([document(1)])
    assert fake.calls()[:2] == [("GET", "/_alias/cpu-products-building"),
                                ("DELETE", "/cpu-products-20240101-000000-000000")]
    [new] = fake.indices
    assert fake.indices[new]["aliases"] == {"cpu-products"}


def test_a_change_made_while_a_rebuild_loads_reaches_the_new_index_and_is_not_overwritten(fake, engine):
    fake.add_index("cpu-products-old", "cpu-products", docs=[document(1)])
    fresh = document(1, title={"en": "Fresh title"}, version=2)

    def catalog():
        yield document(1)  # read before the change...
        engine.upsert([fresh])  # ...which another process indexes while the rebuild loads
        yield document(2)

    assert engine.rebuild(catalog()).indexed == 2
    [new] = fake.indices
    assert fake.indices[new]["docs"]["prd_01"]["title"] == {"en": "Fresh title"}
    assert sorted(fake.indices[new]["docs"]) == ["prd_01", "prd_02"]


def test_upsert_writes_through_the_aliases_and_returns_once_searchable(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products")
    engine.upsert([document(1)])
    [(_, _, query, lines)] = [request for request in fake.requests if request[1] == "/_bulk"]
    assert query == {"refresh": "wait_for", "require_alias": "true"}
    versioned = {"version": 1, "version_type": "external"}
    assert lines[0::2] == [{"index": {"_id": "prd_01", "_index": "cpu-products"} | versioned},
                           {"index": {"_id": "prd_01", "_index": "cpu-products-building"} | versioned}]
    assert fake.indices["cpu-products-1"]["docs"]["prd_01"]["title"] == document(1).title
    assert list(fake.indices) == ["cpu-products-1"] and not fake.auto_created


def test_delete_removes_documents_and_ignores_absent_ids(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products", docs=[document(1), document(2)])
    engine.delete([Removal("prd_01", 2), Removal("prd_99", 1), Removal("prd_01", 2)])
    assert list(fake.indices["cpu-products-1"]["docs"]) == ["prd_02"]
    [(_, _, query, lines)] = [request for request in fake.requests if request[1] == "/_bulk"]
    assert query["refresh"] == "wait_for" and len(lines) == 4  # duplicates dropped; alias and building alias
    assert lines[0] == {"delete": {"_id": "prd_01", "_index": "cpu-products", "version": 2, "version_type": "external"}}


def test_a_document_the_cluster_refuses_is_answered_and_the_others_are_written(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products")
    fake.reject_ids = {"prd_01"}
    [rejected] = engine.upsert([document(1), document(2)])
    assert rejected.id == "prd_01" and "document_parsing_exception" in rejected.reason
    assert list(fake.indices["cpu-products-1"]["docs"]) == ["prd_02"]


def test_a_write_the_cluster_refuses_for_now_raises_to_be_tried_again(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products")
    fake.overloaded_ids = {"prd_01"}
    with pytest.raises(SearchIndexError) as raised:
        engine.upsert([document(1)])
    assert raised.value.errors[0]["error"]["type"] == "es_rejected_execution_exception"


def test_a_document_that_is_not_valid_unicode_is_answered_and_never_sent(fake, engine):
    """The client would send a lone surrogate as bytes that are not UTF-8, and the cluster
    would refuse the whole bulk request: every document in it."""
    fake.add_index("cpu-products-1", "cpu-products")
    [rejected] = engine.upsert([document(1, title={"en": "Caf\udce9"}), document(2)])
    assert rejected.id == "prd_01" and "cannot be written" in rejected.reason
    assert list(fake.indices["cpu-products-1"]["docs"]) == ["prd_02"]
    [(_, _, _, lines)] = [request for request in fake.requests if request[1] == "/_bulk"]
    assert {line["index"]["_id"] for line in lines[0::2]} == {"prd_02"}


def test_a_rebuild_leaves_out_the_documents_it_cannot_write_and_names_them(fake, engine):
    fake.reject_ids = {"prd_02"}
    built = engine.rebuild([document(1), document(2), document(3, title={"en": "Caf\udce9"}), document(4)])
    assert built.indexed == 2 and [r.id for r in built.rejected] == ["prd_03", "prd_02"]
    [new] = fake.indices
    assert fake.indices[new]["aliases"] == {"cpu-products"} and sorted(fake.indices[new]["docs"]) == ["prd_01", "prd_04"]


def test_an_older_read_written_after_a_newer_one_leaves_the_newer(fake, engine):
    """Two indexers: one reads revision 1, the other revision 2; the second writes first."""
    fake.add_index("cpu-products-1", "cpu-products", docs=[document(1)])
    old, new = document(1, title={"en": "Old title"}, version=2), document(1, title={"en": "New title"}, version=3)
    assert engine.upsert([new]) == []
    assert engine.upsert([old]) == []  # a version conflict: the newer copy is there, not an error
    assert fake.indices["cpu-products-1"]["docs"]["prd_01"]["title"] == {"en": "New title"}
    written = [lines[0]["index"] for _, path, _, lines in fake.requests if path == "/_bulk"]
    assert [(w["version"], w["version_type"]) for w in written] == [(3, "external"), (2, "external")]


def test_a_copy_read_before_a_delete_does_not_bring_the_product_back(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products", docs=[document(1)])
    engine.delete([Removal("prd_01", GONE)])
    assert engine.upsert([document(1, version=2)]) == []
    assert fake.indices["cpu-products-1"]["docs"] == {}


def test_before_the_first_rebuild_writes_create_nothing_and_searches_answer_empty(fake, engine):
    engine.upsert([document(1)])
    engine.delete([Removal("prd_01", GONE)])
    assert fake.indices == {} and not fake.auto_created
    assert engine.search(SearchQuery(text="coffee")) == SearchResult(items=[], total=0,
                                                                     facets={facet: [] for facet in FACETS})
    assert engine.suggest("cof") == []


def test_search_sends_the_query_body_to_the_alias_and_reads_the_response(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products")
    fake.search_response = SAMPLE_RESPONSE
    query = SearchQuery(text="blue cofee")
    assert engine.search(query) == search_result(SAMPLE_RESPONSE, query)
    assert fake.bodies("POST", "/cpu-products/_search") == [query_body(query)]


def test_when_nothing_matches_every_word_the_search_is_asked_again_with_one_fewer(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products")
    nothing = {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}
    fake.search_responses = [nothing, SAMPLE_RESPONSE]
    query = SearchQuery(text="blue mountain cofee")
    assert engine.search(query) == search_result(SAMPLE_RESPONSE, query)
    assert fake.bodies("POST", "/cpu-products/_search") == [query_body(query), query_body(query, 2)]


def test_a_search_that_finds_nothing_at_the_last_step_answers_empty(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products")
    result = engine.search(SearchQuery(text="snow shoes"))
    assert (result.items, result.total) == ([], 0)
    assert len(fake.bodies("POST", "/cpu-products/_search")) == 2  # both words, then either


def test_suggest_sends_the_suggest_body_and_returns_titles(fake, engine):
    fake.add_index("cpu-products-1", "cpu-products")
    fake.search_response = {"hits": {"hits": [
        {"_id": "prd_01", "_score": 2.0, "_source": {"suggest": {"fr": "Café Blue Mountain"}}},
        {"_id": "prd_02", "_score": 1.0, "_source": {"suggest": {"fr": "Café des Hauts"}}},
    ]}}
    assert engine.suggest(" caf ", language="fr", limit=1) == ["Café Blue Mountain"]
    assert fake.bodies("POST", "/cpu-products/_search") == [suggest_body("caf", "fr", 1)]
    assert engine.suggest("   ") == [] and len(fake.requests) == 1


def test_punctuation_at_a_words_ends_does_not_count_as_letters_and_inner_punctuation_is_kept():
    assert typo_clause(query_body(SearchQuery(text="rum, pepper")), "rum")["fuzziness"] == 0
    assert "phrase:l'huile" in names(query_body(SearchQuery(text="l'huile", language="fr")))


def test_a_word_with_inner_punctuation_matches_as_a_phrase_without_typos():
    """The analyzers split "sea-salt" in two: as a plain match either token would do, and the
    word's typo allowance on "sea" would match almost any short word."""
    [part] = query_body(SearchQuery(text="sea-salt chocolate "))["query"]["bool"]["must"][:1]
    assert names(part) == ["phrase:sea-salt"]
    assert [m["type"] for m in clauses(part, "multi_match")] == ["phrase"]


def test_only_the_first_parts_of_a_long_query_get_typo_clauses():
    """Elasticsearch caps the leaf clauses of a rewritten query; every typo clause may expand
    to MAX_EXPANSIONS terms in each of nine fields."""
    words = [f"wordnumber{n}" for n in range(12)]
    typo_names = [n for n in names(query_body(SearchQuery(text=" ".join(words) + " "))) if n and n.startswith("typo:")]
    assert typo_names == [f"typo:{w}" for w in words[:TYPO_PARTS]]
    assert typo_words(" ".join(words)) == words[:TYPO_PARTS]
    assert query_body(SearchQuery(text=" -- ")) == query_body(SearchQuery())


def test_suggestions_for_retail_leave_out_b2b_only_products_and_b2b_buyers_get_them_all():
    assert suggest_body("caf", "en", 8)["query"]["bool"]["filter"] == [{"term": {"b2b_only": False}}]
    assert "filter" not in suggest_body("caf", "en", 8, "b2b")["query"]["bool"]
    assert {"term": {"b2b_only": False}} in query_body(SearchQuery(audience="anything else"))["query"]["bool"]["filter"]
