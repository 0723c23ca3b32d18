"""What every search engine must do, whichever answers: one suite, run on each engine
(see conftest.py). The catalogue is the hand-written one in conftest.catalogue().

Words: every word must match, unless fewer than five products match them all; then products
matching most of the words are added after those matching all of them.

Facet values: category slugs (each product counts for its category and every ancestor),
origin country codes, merchant ids, and price rungs as the index into the query's
price_rungs_usd ("0", "1", ...; search.prices merges them into the buckets shown). Counts are
disjunctive: a facet is counted under every filter except its own selection (the price facet
ignores `price_range_usd`, but not `price_min_usd/max`).
"""

from __future__ import annotations

import re

import pytest

from search import synonyms
from search.engines.embedded_query import STOPWORDS
from search.query import USD_RUNGS, SearchQuery
from search.documents import GONE, Removal
from tests.search.conftest import by_id, catalogue, changed, document

DOCS = by_id(catalogue())
RETAIL = [d for d in DOCS.values() if not d.b2b_only]


def search(engine, text: str = "", **options):
    return engine.search(SearchQuery(text=text, limit=options.pop("limit", 100), **options))


def ids(engine, text: str = "", **options) -> list[str]:
    return [hit.id for hit in search(engine, text, **options).items]


def facet(result, name: str) -> dict[str, int]:
    return {v.value: v.count for v in result.facets[name]}


# Free text -----------------------------------------------------------------------------------

def test_a_word_in_the_title_finds_the_product_first(engine):
    assert ids(engine, "cinnamon")[0] == "prd_cinnamon"
    assert ids(engine, "madras fabric")[0] == "prd_madras"


def test_products_matching_every_word_come_before_those_matching_some(engine):
    found = ids(engine, "dark chocolate")
    assert found[0] == "prd_chocolate"
    assert found.index("prd_chocolate") < found.index("prd_coffee_cibao")  # "dark roast": fewer than five match both


def test_when_five_products_match_every_word_those_matching_some_are_left_out(fresh_engine):
    fresh_engine.upsert([document(f"prd_chocolate_{n}", "mer_cibao", "food/cocoa-chocolate", {"en": f"Dark chocolate {60 + n}%"})
                         for n in range(4)])
    found = ids(fresh_engine, "dark chocolate")
    assert len(found) == 5 and "prd_coffee_cibao" not in found


def test_words_in_the_description_are_found_below_title_matches(engine):
    found = ids(engine, "roasted")
    assert found[0] == "prd_nibs"  # "Roasted cocoa nibs"
    assert {"prd_coffee_medium", "prd_coffee_cibao"} <= set(found[1:])  # "roasted in small batches"


def test_an_empty_query_lists_everything_a_retail_buyer_may_see(engine):
    result = search(engine)
    assert result.total == len(RETAIL)


def test_nothing_found_is_an_empty_result(engine):
    result = search(engine, "snowshoes")
    assert (result.items, result.total) == ([], 0)


# Typo tolerance: none under 5 letters, one edit from 5, two from 9 --------------------------------

@pytest.mark.parametrize("typed, wanted", [
    ("cinamon", "prd_cinnamon"),  # 7 letters, one letter missing
    ("hibsicus", "prd_hibiscus_syrup"),  # 8 letters, two letters swapped
    ("coconutt", "prd_soap"),
    ("madrass", "prd_madras"),
])
def test_one_typo_in_a_word_of_five_letters_or_more_is_forgiven(engine, typed, wanted):
    assert wanted in ids(engine, typed)[:3]


@pytest.mark.parametrize("typed, wanted", [
    ("gavaberri", "prd_guavaberry"),  # 9 letters, two edits
    ("cinnamonnn", "prd_cinnamon"),
])
def test_two_typos_in_a_word_of_seven_letters_or_more_are_forgiven(engine, typed, wanted):
    assert wanted in ids(engine, typed)[:3]


@pytest.mark.parametrize(("typed", "wanted"), [("rhun", "prd_rhum_vsop"), ("soep", "prd_soap")])
def test_one_typo_in_a_word_of_four_letters_is_forgiven(engine, typed, wanted):
    assert wanted in ids(engine, typed)[:3]


def test_a_typo_in_a_word_of_three_letters_is_not_guessed(engine):
    assert search(engine, "rym").total == 0


def test_two_typos_in_a_word_under_seven_letters_are_not_guessed(engine):
    assert "prd_cinnamon" not in ids(engine, "cinamn basket")


def test_a_corrected_word_is_reported_for_did_you_mean(engine):
    assert "cinnamon" in search(engine, "cinamon").corrected_terms
    assert search(engine, "cinnamon").corrected_terms == ()


def test_the_last_word_is_completed_as_the_buyer_types(engine):
    assert "prd_guavaberry" in ids(engine, "guavab")


# Synonyms, in both directions ----------------------------------------------------------------

@pytest.mark.parametrize("typed, wanted", [
    ("scotch bonnet", "prd_hot_sauce"),  # a phrase finds its synonym phrase "hot pepper"
    ("hot pepper", "prd_scotch_bonnet"),
    ("sorrel", "prd_hibiscus_syrup"),
    ("hibiscus", "prd_sorrel_drink"),
    ("rhum", "prd_ron"),
    ("koffie", "prd_coffee_medium"),
    ("wholesale", "prd_basket"),  # "case of 6"
    ("guayaba", "prd_guava_paste"),  # written in English and French only: found through the translation
    ("jengibre", "prd_sorrel_drink"),
])
def test_a_synonym_finds_what_the_merchant_called_it(engine, typed, wanted):
    assert wanted in ids(engine, typed)


# Languages -----------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, language, wanted", [
    ("rones", "es", "prd_ron"),  # Spanish plural, too far for typo tolerance
    ("tostado", "es", "prd_nibs"),
    ("futs de chene", "fr", "prd_rhum_vsop"),  # "fûts" is four letters: no typo tolerance, stemming alone
    ("vieux rhums", "fr", "prd_rhum_vsop"),
    ("zeepjes", "nl", "prd_soap"),  # Dutch diminutive plural of "zeep"
    ("kaneel", "nl", "prd_cinnamon"),
])
def test_each_language_is_stemmed(engine, typed, language, wanted):
    assert wanted in ids(engine, typed, language=language)


@pytest.mark.parametrize("typed, language, wanted", [
    ("cafe", "es", "prd_coffee_cibao"),
    ("pate de goyave", "fr", "prd_guava_paste"),
    ("PÂTE", "en", "prd_guava_paste"),
    ("anejo", "es", "prd_ron"),
])
def test_accents_and_case_are_folded(engine, typed, language, wanted):
    assert wanted in ids(engine, typed, language=language)


def test_hits_are_titled_in_the_buyers_language_when_the_merchant_wrote_one(engine):
    hits = {h.id: h for h in search(engine, "chocolate", language="es").items}
    assert hits["prd_chocolate"].title == "Chocolate negro 70 %"
    hits = {h.id: h for h in search(engine, "cinnamon", language="es").items}
    assert hits["prd_cinnamon"].title == "Ground cinnamon"  # no Spanish title: English


def test_the_buyers_language_ranks_first(engine):
    assert ids(engine, "rhum agricole", language="fr")[0] in {"prd_rhum_vsop", "prd_rhum_blanc"}
    assert ids(engine, "café", language="es")[0] == "prd_coffee_cibao"


# Filters -------------------------------------------------------------------------------------

def test_a_category_filter_takes_the_whole_subtree(engine):
    food = {d.id for d in RETAIL if d.category.startswith("food")}
    assert set(ids(engine, category="food")) == food
    assert set(ids(engine, category="food/coffee")) == {"prd_coffee_medium", "prd_coffee_cibao"}


def test_origin_region_and_merchant_filters(engine):
    assert set(ids(engine, origin_countries=("DO", "SR"))) == {
        d.id for d in RETAIL if d.origin_countries[0] in ("DO", "SR")}
    assert set(ids(engine, merchant_regions=("fdf",))) == {d.id for d in RETAIL if d.merchant_region == "fdf"}
    assert set(ids(engine, merchant_ids=("mer_paramaribo",))) == {"prd_cinnamon", "prd_soap"}


def test_a_product_that_cannot_ship_to_the_buyer_is_never_shown(engine):
    for text in ("", "rum", "rhum", "guavaberry", "liqueur"):
        result = search(engine, text, ships_to="SA")
        assert not {"prd_ron", "prd_rhum_vsop", "prd_rhum_blanc", "prd_guavaberry"} & {h.id for h in result.items}
    result = search(engine, ships_to="SA")
    assert result.total == len(RETAIL) - 4
    assert facet(result, "category").get("beverages/rum", 0) == 0
    assert "prd_basket" in ids(engine, "basket", ships_to="SA")
    assert "prd_basket" not in ids(engine, "basket", ships_to="NZ")


def test_price_range_in_us_cents_is_inclusive(engine):
    found = set(ids(engine, price_min_usd=450, price_max_usd=900))
    assert found == {d.id for d in RETAIL if 450 <= d.price_usd <= 900}
    assert {"prd_chocolate", "prd_nibs", "prd_scotch_bonnet"} <= found
    assert set(ids(engine, price_min_usd=4500)) == {"prd_rhum_vsop"}
    assert set(ids(engine, price_max_usd=350)) == {"prd_sorrel_drink"}


def test_in_stock_only(engine):
    found = set(ids(engine, in_stock=True))
    assert found == {d.id for d in RETAIL if d.in_stock}
    assert "prd_nibs" not in found


def test_retail_buyers_never_see_b2b_only_products(engine):
    for text in ("", "green coffee", "coffee", "jute sack", "wholesale"):
        assert "prd_coffee_green" not in ids(engine, text, audience="retail")
    result = search(engine, "coffee", audience="retail")
    assert facet(result, "category")["food/coffee"] == 2


def test_b2b_buyers_see_everything_and_can_ask_for_b2b_only(engine):
    assert "prd_coffee_green" in ids(engine, "green coffee", audience="b2b")
    assert search(engine, audience="b2b").total == len(DOCS)
    assert ids(engine, audience="b2b", b2b_only=True) == ["prd_coffee_green"]


def test_a_price_bucket_selection_filters_from_inclusive_to_exclusive(engine):
    assert set(ids(engine, price_range_usd=(900, 2400))) == {d.id for d in RETAIL if 900 <= d.price_usd < 2400}
    assert set(ids(engine, price_range_usd=(2400, None))) == {d.id for d in RETAIL if d.price_usd >= 2400}


# Facets --------------------------------------------------------------------------------------

def test_facets_count_categories_with_their_ancestors(engine):
    result = search(engine)
    categories = facet(result, "category")
    assert categories["food"] == sum(1 for d in RETAIL if d.category_path[0] == "food")
    assert categories["food/coffee"] == 2
    assert categories["beverages/rum"] == 3
    assert facet(result, "origin_country")["MQ"] == 5
    assert facet(result, "merchant")["mer_bajan"] == 6


def test_merchant_facet_values_are_ids_named_for_display(engine):
    """Selecting sends the id back; the buyer reads the trading name."""
    labels = {v.value: v.label for v in search(engine).facets["merchant"]}
    assert labels["mer_bajan"] == "Bajan Pepper Works"
    assert set(labels) == {d.merchant_id for d in RETAIL}


@pytest.mark.parametrize("rungs", [USD_RUNGS, (0, 333, 1000, 2777)])
def test_the_price_facet_counts_each_rung_the_query_names(engine, rungs):
    result = search(engine, price_rungs_usd=rungs)
    expected = {}
    for n, low in enumerate(rungs):
        high = rungs[n + 1] if n + 1 < len(rungs) else None
        count = sum(1 for d in RETAIL if d.price_usd >= low and (high is None or d.price_usd < high))
        if count:
            expected[str(n)] = count
    assert facet(result, "price") == expected


def test_facets_follow_the_text_query(engine):
    result = search(engine, "rum")
    assert set(facet(result, "category")) >= {"beverages", "beverages/rum"}
    assert "crafts" not in facet(result, "category")


def test_a_facet_ignores_its_own_selection_and_obeys_the_others(engine):
    result = search(engine, origin_countries=("DO",))
    assert result.total == 4
    origins = facet(result, "origin_country")
    assert origins["DO"] == 4 and origins["MQ"] == 5 and origins["BB"] == 6  # still offered
    assert facet(result, "category") == {"food": 3, "food/coffee": 1, "food/cocoa-chocolate": 2,
                                         "beverages": 1, "beverages/rum": 1}


@pytest.mark.parametrize("selection, name, value, other", [
    ({"category": "food/coffee"}, "category", "food/coffee", "beverages"),
    ({"merchant_ids": ("mer_paramaribo",)}, "merchant", "mer_paramaribo", "mer_bajan"),
    ({"price_range_usd": (500, 1000), "price_rungs_usd": (0, 500, 1000)}, "price", "1", "0"),
])
def test_each_facet_is_disjunctive(engine, selection, name, value, other):
    unfiltered = facet(search(engine, price_rungs_usd=selection.get("price_rungs_usd", USD_RUNGS)), name)
    result = search(engine, **selection)
    assert facet(result, name)[value] == unfiltered[value]
    assert facet(result, name)[other] == unfiltered[other]
    assert result.total == unfiltered[value]


def test_facets_can_be_left_out(engine):
    assert search(engine, "coffee", facets=False).facets in ({}, {"category": [], "origin_country": [], "merchant": [], "price": []})


# Sorting and pages ---------------------------------------------------------------------------

def test_sort_by_price_both_ways(engine):
    ascending = search(engine, sort="price_asc").items
    prices = [h.price_usd for h in ascending]
    assert prices == sorted(prices) and len(prices) == len(RETAIL)
    descending = [h.price_usd for h in search(engine, sort="price_desc").items]
    assert descending == sorted(prices, reverse=True)


def test_sort_by_price_within_a_text_query(engine):
    assert ids(engine, "rum", sort="price_asc", category="beverages/rum") == ["prd_rhum_blanc", "prd_ron", "prd_rhum_vsop"]


def test_sort_newest_first(engine):
    newest = sorted(RETAIL, key=lambda d: d.created_at, reverse=True)
    assert ids(engine, sort="newest") == [d.id for d in newest]


def test_pages_follow_one_another_without_gaps_or_repeats(engine):
    everything = ids(engine, sort="price_asc")
    pages = []
    for offset in range(0, len(everything), 5):
        result = search(engine, sort="price_asc", offset=offset, limit=5)
        assert result.total == len(everything)
        pages += [h.id for h in result.items]
    assert pages == everything
    assert search(engine, sort="price_asc", offset=len(everything), limit=5).items == []


def test_among_equal_matches_the_more_popular_comes_first(fresh_engine):
    twins = [document(f"prd_mauby_{sold}", "mer_bajan", "beverages/juices", {"en": "Mauby syrup"}, popularity=sold)
             for sold in (0, 500, 20)]
    fresh_engine.upsert(twins)
    assert ids(fresh_engine, "mauby") == ["prd_mauby_500", "prd_mauby_20", "prd_mauby_0"]


def test_relevance_scores_do_not_increase_down_the_list(engine):
    scores = [h.score for h in search(engine, "coffee").items]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


# Hits and highlights ---------------------------------------------------------------------------

def test_a_hit_carries_what_a_result_list_shows(engine):
    hit = search(engine, "cinnamon").items[0]
    doc = DOCS["prd_cinnamon"]
    assert (hit.id, hit.title, hit.merchant_id, hit.merchant_name, hit.merchant_handle) == (
        doc.id, "Ground cinnamon", doc.merchant_id, doc.merchant_name, doc.merchant_handle)
    assert (hit.category, hit.origin_countries, hit.price, hit.currency, hit.price_usd, hit.in_stock, hit.b2b_only) == (
        "food/spices", ("SR",), 550, "USD", 550, True, False)


def test_matches_are_highlighted_with_mark(engine):
    hit = search(engine, "cinnamon").items[0]
    assert "<mark>cinnamon</mark>" in hit.highlight.lower()


def test_stopwords_are_not_marked(engine):
    if engine.name == "elasticsearch":
        pytest.skip("Elasticsearch marks every query term it finds, stopwords too (cosmetic; see elastic_query.highlight)")
    [hit] = [h for h in search(engine, "pâte de goyave", language="fr").items if h.id == "prd_guava_paste"]
    assert "<mark>goyave</mark>" in hit.highlight.lower() and "<mark>de</mark>" not in hit.highlight


def test_a_description_match_is_highlighted_in_the_description(engine):
    hit = next(h for h in search(engine, "slopes").items if h.id == "prd_coffee_medium")
    assert "<mark>slopes</mark>" in hit.highlight


def test_a_typo_is_highlighted_as_the_word_it_matched(engine):
    hit = search(engine, "cinamon").items[0]
    assert "<mark>cinnamon</mark>" in hit.highlight.lower()


def test_highlights_escape_everything_but_the_marks(engine):
    hit = next(h for h in search(engine, "fudge").items if h.id == "prd_fudge")
    assert "&amp;" in hit.highlight and "&lt;b&gt;" in hit.highlight
    assert re.sub(r"</?mark>", "", hit.highlight).count("<") == 0


# Suggestions ---------------------------------------------------------------------------------

def test_suggestions_complete_a_word_of_a_title(engine):
    assert "Ground cinnamon" in engine.suggest("cinn")
    assert "Ground cinnamon" in engine.suggest("gro")
    assert engine.suggest("guavab") == ["Guavaberry liqueur"]


def test_suggestions_are_in_the_buyers_language(engine):
    assert "Gemalen kaneel" in engine.suggest("kan", language="nl")
    assert "Café del Cibao, tueste oscuro" in engine.suggest("caf", language="es")


def test_suggestions_are_distinct_and_limited(engine):
    found = engine.suggest("r", limit=3) + engine.suggest("ro", limit=3)
    assert len(engine.suggest("ro", limit=3)) <= 3
    assert len(set(engine.suggest("ro", limit=20))) == len(engine.suggest("ro", limit=20))
    assert all(isinstance(s, str) for s in found)
    assert engine.suggest("zzzz") == []


# Changes ---------------------------------------------------------------------------------------

def test_an_upsert_is_searchable_at_once(fresh_engine):
    fresh_engine.upsert([document("prd_nutmeg", "mer_paramaribo", "food/spices", {"en": "Whole nutmeg", "nl": "Hele nootmuskaat"})])
    assert ids(fresh_engine, "nutmeg") == ["prd_nutmeg"]
    assert search(fresh_engine).total == len(RETAIL) + 1


def test_an_upsert_replaces_the_document_with_the_same_id(fresh_engine):
    fresh_engine.upsert([changed(DOCS["prd_madras"], title={"en": "Madras headscarf"}, version=2)])
    assert "prd_madras" not in ids(fresh_engine, "red yellow")
    assert ids(fresh_engine, "headscarf") == ["prd_madras"]
    assert search(fresh_engine).total == len(RETAIL)


def test_a_product_turned_b2b_only_disappears_for_retail(fresh_engine):
    fresh_engine.upsert([changed(DOCS["prd_madras"], b2b_only=True, version=2)])
    assert "prd_madras" not in ids(fresh_engine, "madras")
    assert "prd_madras" in ids(fresh_engine, "madras", audience="b2b")


def test_a_deleted_product_is_gone_from_hits_counts_and_facets(fresh_engine):
    fresh_engine.delete([Removal("prd_cinnamon", 2), Removal("prd_no_such_product", GONE)])
    assert ids(fresh_engine, "cinnamon") == []
    result = search(fresh_engine)
    assert result.total == len(RETAIL) - 1
    assert facet(result, "category").get("food/spices", 0) == 0
    assert fresh_engine.suggest("cinn") == []


# Versions: two indexers read one product at different times and write in the other order.

def test_an_older_read_written_after_a_newer_one_leaves_the_newer(fresh_engine):
    """Read old (revision 2), read new (revision 3), write new, write old: the new one stays."""
    read_old = changed(DOCS["prd_madras"], title={"en": "Madras fabric, faded"}, version=2)
    read_new = changed(DOCS["prd_madras"], title={"en": "Madras headscarf"}, version=3)
    fresh_engine.upsert([read_new])
    fresh_engine.upsert([read_old])
    assert ids(fresh_engine, "headscarf") == ["prd_madras"]
    assert ids(fresh_engine, "faded") == []


def test_the_same_version_again_changes_nothing(fresh_engine):
    fresh_engine.upsert([changed(DOCS["prd_madras"], title={"en": "Madras headscarf"})])  # version 1, as indexed
    assert ids(fresh_engine, "headscarf") == []


def test_a_copy_read_before_a_removal_does_not_bring_the_product_back(fresh_engine):
    fresh_engine.delete([Removal("prd_cinnamon", GONE)])
    fresh_engine.upsert([changed(DOCS["prd_cinnamon"], version=2)])  # read just before the delete, written after
    assert ids(fresh_engine, "cinnamon") == []
    assert search(fresh_engine).total == len(RETAIL) - 1


def test_a_hidden_product_shown_again_comes_back(fresh_engine):
    fresh_engine.delete([Removal("prd_cinnamon", 2)])  # hidden at revision 2
    fresh_engine.upsert([changed(DOCS["prd_cinnamon"], version=2)])  # the copy read before it
    assert ids(fresh_engine, "cinnamon") == []
    fresh_engine.upsert([changed(DOCS["prd_cinnamon"], version=3)])  # public again
    assert ids(fresh_engine, "cinnamon") == ["prd_cinnamon"]


# One bad document: left out and named, the others written.

BAD_TEXT = "Nutmeg \udce9"  # a lone surrogate: text no index can hold


def test_an_upsert_writes_the_good_documents_and_names_the_bad(fresh_engine):
    bad = document("prd_bad", "mer_paramaribo", "food/spices", {"en": BAD_TEXT})
    good = document("prd_mace", "mer_paramaribo", "food/spices", {"en": "Whole mace"})
    assert [r.id for r in fresh_engine.upsert([bad, good])] == ["prd_bad"]
    assert ids(fresh_engine, "mace") == ["prd_mace"]
    assert search(fresh_engine).total == len(RETAIL) + 1


def test_a_rebuild_indexes_the_good_documents_and_names_the_bad(fresh_engine):
    bad = document("prd_bad", "mer_paramaribo", "food/spices", {"en": BAD_TEXT})
    built = fresh_engine.rebuild([DOCS["prd_soap"], bad, DOCS["prd_cinnamon"]])
    assert built.indexed == 2 and [r.id for r in built.rejected] == ["prd_bad"]
    assert set(ids(fresh_engine)) == {"prd_soap", "prd_cinnamon"}


def test_a_rebuild_replaces_the_whole_index(fresh_engine):
    seen = []
    built = fresh_engine.rebuild([DOCS["prd_soap"], DOCS["prd_cinnamon"]], seen.append)
    assert built.indexed == 2 and seen[-1] == 2
    assert set(ids(fresh_engine)) == {"prd_soap", "prd_cinnamon"}
    assert ids(fresh_engine, "coffee") == []
    fresh_engine.upsert([DOCS["prd_madras"]])
    assert set(ids(fresh_engine)) == {"prd_soap", "prd_cinnamon", "prd_madras"}


def test_a_rebuild_from_nothing_empties_the_index(fresh_engine):
    assert fresh_engine.rebuild([]).indexed == 0
    assert search(fresh_engine).total == 0


def test_searches_see_the_old_index_until_a_rebuild_is_complete(fresh_engine):
    seen_during = []

    def documents():
        yield DOCS["prd_soap"]
        seen_during.append(ids(fresh_engine, "cinnamon"))
        yield DOCS["prd_madras"]

    fresh_engine.rebuild(documents())
    assert seen_during == [["prd_cinnamon"]]
    assert set(ids(fresh_engine)) == {"prd_soap", "prd_madras"}


def test_a_failed_rebuild_leaves_the_index_as_it_was(fresh_engine):
    def documents():
        yield DOCS["prd_soap"]
        raise RuntimeError("region sdq is unreachable")

    with pytest.raises(RuntimeError):
        fresh_engine.rebuild(documents())
    assert search(fresh_engine).total == len(RETAIL)
    fresh_engine.upsert([changed(DOCS["prd_madras"], title={"en": "Madras headscarf"}, version=2)])
    assert ids(fresh_engine, "headscarf") == ["prd_madras"]


# The embedded engine's files ---------------------------------------------------------------------

@pytest.fixture
def embedded(tmp_path):
    from search.engines.embedded import EmbeddedEngine

    engine = EmbeddedEngine(tmp_path / "search")
    engine.rebuild(catalogue())
    return engine


def test_the_embedded_index_survives_a_restart(embedded, tmp_path):
    from search.engines.embedded import EmbeddedEngine

    embedded.upsert([document("prd_nutmeg", "mer_paramaribo", "food/spices", {"en": "Whole nutmeg"})])
    reopened = EmbeddedEngine(tmp_path / "search")
    assert search(reopened).total == len(RETAIL) + 1
    assert ids(reopened, "nutmeg") == ["prd_nutmeg"]


def test_another_process_follows_a_rebuild_into_the_new_generation(embedded, tmp_path, monkeypatch):
    from search.engines import embedded as module

    monkeypatch.setattr(module, "POINTER_CHECK_SECONDS", 0.0)
    server = module.EmbeddedEngine(tmp_path / "search")  # another process, reading the same files
    assert search(server).total == len(RETAIL)
    embedded.rebuild([DOCS["prd_soap"]])
    assert ids(server) == ["prd_soap"]
    embedded.rebuild([DOCS["prd_madras"]])
    assert ids(server) == ["prd_madras"]
    assert len(list((tmp_path / "search").glob("g-*"))) <= 2  # older generations are removed


def test_a_second_writer_is_refused(embedded):
    from search.engines.embedded import IndexBusy

    held = embedded._current().index.writer(15_000_000, 1)  # another process writing
    try:
        with pytest.raises(IndexBusy):
            embedded.upsert([DOCS["prd_soap"]])
    finally:
        held.rollback()
        held.wait_merging_threads()
    embedded.upsert([DOCS["prd_soap"]])


def test_an_index_written_by_another_schema_version_is_not_opened(embedded, tmp_path):
    from search.engines.embedded import POINTER, EmbeddedEngine

    pointer = tmp_path / "search" / POINTER
    pointer.write_text(pointer.read_text().replace('"schema": ', '"schema": -'))
    assert search(EmbeddedEngine(tmp_path / "search")).total == 0


def test_no_synonym_is_a_word_every_query_may_leave_out():
    """A stopword in a synonym group would stop being optional: folded, the French "thé" is
    the English "the", and "rum by the case" would then require tea."""
    assert not [phrase for group in synonyms.groups() for phrase in group if phrase in STOPWORDS]


def test_a_pasted_wall_of_words_is_read_up_to_its_first_parts(engine):
    """A 200-character query repeating a word, or listing forty, still answers (Elasticsearch
    would otherwise refuse a query with too many clauses)."""
    assert "prd_guava_paste" in ids(engine, "guava " * 33)
    assert len(synonyms.expand(" ".join(f"word{n}" for n in range(40)))) == synonyms.MAX_PARTS
    assert search(engine, " ".join(f"word{n}" for n in range(40))).total == 0


def test_suggestions_follow_the_audience(engine):
    """A retail buyer is never offered a B2B-only product's title as a completion."""
    assert not [title for title in engine.suggest("green") if title.startswith("Green coffee")]
    assert "Green coffee beans for roasting, 30 kg jute sack" in engine.suggest("green", audience="b2b")


# Query understanding: origin, quantities, pack sizes and B2B words (search/understanding.py) ----

def test_an_origin_word_boosts_that_origins_products_without_filtering_the_others(engine):
    found = ids(engine, "rum martinique")
    assert set(found[:2]) == {"prd_rhum_vsop", "prd_rhum_blanc"}
    assert "prd_ron" in found  # a Dominican rum is still a rum


def test_the_product_words_must_still_match_beside_an_origin(engine):
    found = ids(engine, "coffee jamaica")
    assert found[0] == "prd_coffee_medium"
    assert "prd_coffee_cibao" in found and "prd_chocolate" not in found


def test_a_nationality_word_of_another_language_is_an_origin_not_a_typo(engine):
    result = search(engine, "café dominicano")
    assert result.items[0].id == "prd_coffee_cibao"
    assert result.corrected_terms == ()


def test_a_quantity_ranks_the_variant_option_it_names_and_is_not_a_free_word(engine):
    assert ids(engine, "coffee 250g")[0] == "prd_coffee_medium"
    assert ids(engine, "rum 10 kg") == ids(engine, "rum")  # "10" does not match "8 years" or anything else


def test_a_pack_size_ranks_products_sold_in_that_case(engine):
    assert ids(engine, "basket case of 6")[0] == "prd_basket"
    assert ids(engine, "case of 6") == ids(engine, "")[:1] or ids(engine, "case of 6")[0] == "prd_basket"


def test_b2b_words_are_an_intent_the_audience_comes_from_the_caller(engine):
    anonymous = ids(engine, "wholesale coffee")
    assert "prd_coffee_green" not in anonymous and {"prd_coffee_medium", "prd_coffee_cibao"} <= set(anonymous)
    assert ids(engine, "wholesale coffee", audience="b2b")[0] == "prd_coffee_green"


def test_two_typos_in_an_eight_letter_word_and_one_in_a_four_letter_word_are_forgiven(engine):
    assert ids(engine, "cinammon")[0] == "prd_cinnamon"
    assert ids(engine, "saop")[0] == "prd_soap"


def test_a_word_of_another_language_without_a_synonym_entry_finds_english_only_listings(fresh_engine):
    fresh_engine.upsert([document("prd_dark_rum", "mer_bajan", "beverages/rum", {"en": "Dark rum 40%"})])
    assert "oscuro" not in {p for g in synonyms.groups()[: len(synonyms.groups()) - len(_learned())] for p in g}
    assert ids(fresh_engine, "ron oscuro")[0] == "prd_dark_rum"


def _learned():
    import tomllib

    return tomllib.loads(synonyms.LEXICON_FILE.read_text(encoding="utf-8"))["translations"]


def test_a_shop_name_does_not_make_its_other_products_match(engine):
    """"Cibao Cacao y Café" sells chocolate: "coffee" sorted by price must not list it first."""
    by_price = ids(engine, "coffee", sort="price_asc")
    assert "prd_chocolate" not in by_price and "prd_nibs" not in by_price
    assert by_price[0] == "prd_coffee_cibao"


# Stemming over-reach (issue 14): an English "-ing" word is a word of its own ------------------

STEMMING = [
    document("prd_jerk_seasoning", "mer_bajan", "food/spices", {"en": "Jerk seasoning"}, price_usd=700),
    document("prd_four_seasons", "mer_bajan", "food/preserves", {"en": "Four seasons jam"},
             description={"en": "Fruit of every season in one jar."}, price_usd=900),
    document("prd_age_card", "mer_bajan", "crafts/baskets", {"en": "Gift basket"},
             description={"en": "Contains rum: for buyers of legal drinking age."}, price_usd=3000),
    document("prd_drinking_chocolate", "mer_cibao", "food/cocoa-chocolate", {"en": "Drinking chocolate"}, price_usd=800),
]


def test_seasoning_does_not_find_seasons_and_seasons_finds_season(fresh_engine):
    fresh_engine.upsert(STEMMING)
    assert ids(fresh_engine, "seasoning ") == ["prd_jerk_seasoning"]
    assert ids(fresh_engine, "seasonings ") == ["prd_jerk_seasoning"]  # the plural still meets the singular
    assert ids(fresh_engine, "seasons ")[0] == "prd_four_seasons"
    assert "prd_jerk_seasoning" not in ids(fresh_engine, "seasons ")
    assert "prd_jerk_seasoning" not in ids(fresh_engine, "season ")


def test_drink_does_not_find_drinking_age(fresh_engine):
    fresh_engine.upsert(STEMMING)
    found = ids(fresh_engine, "drink ")
    assert found[0] == "prd_sorrel_drink"
    assert "prd_age_card" not in found and "prd_drinking_chocolate" not in found
    assert ids(fresh_engine, "drinking chocolate ")[0] == "prd_drinking_chocolate"
    assert ids(fresh_engine, "drinks ")[0] == "prd_sorrel_drink"  # a plural is still the word


def test_an_inflected_english_match_is_highlighted_as_written(fresh_engine):
    fresh_engine.upsert(STEMMING)
    hit = search(fresh_engine, "season ").items[0]
    assert hit.id == "prd_four_seasons" and "<mark>seasons</mark>" in hit.highlight


def test_a_hit_carries_its_products_first_image(fresh_engine):
    fresh_engine.upsert([changed(DOCS["prd_soap"], image_url="/media/soap.jpg", version=2)])
    hits = {hit.id: hit for hit in search(fresh_engine, "soap coconut").items}
    assert hits["prd_soap"].image_url == "/media/soap.jpg"
    assert search(fresh_engine, "cinnamon").items[0].image_url is None
