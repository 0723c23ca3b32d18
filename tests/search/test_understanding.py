"""Query understanding (search/understanding.py) and the translations learned from parallel
titles (search/lexicon.py): pure functions, no engine."""

from __future__ import annotations

import pytest

from search import lexicon
from search.query import Intents, SearchQuery
from search.understanding import understand
from tests.search.conftest import document


def understood(text: str, **options) -> SearchQuery:
    return understand(SearchQuery(text=text, **options))


@pytest.mark.parametrize(("text", "words", "origins"), [
    ("coffee jamaica", "coffee", ("JM",)),
    ("jamaican rum", "rum", ("JM",)),
    ("ron dominicano", "ron", ("DO",)),  # the Dominican Republic...
    ("dominica soap", "soap", ("DM",)),  # ...is not Dominica
    ("rhum martiniquais", "rhum", ("MQ",)),
    ("café haïtien", "cafe", ("HT",)),
    ("chocolate saint lucia", "chocolate", ("LC",)),
    ("trinidad and tobago hot sauce", "hot sauce", ("TT",)),
    ("jamaicaanse koffie", "koffie", ("JM",)),
    ("bajan pepper sauce", "pepper sauce", ("BB",)),
])
def test_country_names_demonyms_and_places_in_four_languages_are_an_origin(text, words, origins):
    query = understood(text)
    assert (query.text, query.intents.origins) == (words, origins)


def test_a_product_named_after_a_place_keeps_its_words():
    assert understood("pimienta de jamaica").text == "pimienta de jamaica"
    assert understood("flor de jamaica seca").intents == Intents()


@pytest.mark.parametrize(("text", "words", "measures", "packs"), [
    ("rum 70cl", "rum", ("70 cl",), ()),
    ("rum 70 cl", "rum", ("70 cl",), ()),
    ("10 kg coffee", "coffee", ("10 kg",), ()),
    ("case of 12 rum", "rum", (), ("case of 12",)),
    ("24 x 355 ml ginger beer", "ginger beer", ("355 ml",), ("case of 24",)),
    ("ginger beer 12 pack", "ginger beer", (), ("case of 12",)),
    ("sugar 1,5 kg", "sugar", ("1.5 kg",), ()),
    ("rum 12 years", "rum 12 years", (), ()),  # years are not a unit a variant is sold in
])
def test_quantities_and_pack_sizes_become_variant_options(text, words, measures, packs):
    query = understood(text)
    assert (query.text, query.intents.measures, query.intents.packs) == (words, measures, packs)


@pytest.mark.parametrize("text", ["wholesale cocoa", "bulk cocoa", "cacao mayorista", "cacao en gros", "cacao groothandel"])
def test_b2b_words_are_an_intent_not_words_to_match(text):
    query = understood(text)
    assert query.intents.b2b and query.text in {"cocoa", "cacao"}
    assert query.audience == "retail"  # the words never make the caller a B2B buyer


def test_understanding_twice_changes_nothing_more():
    once = understood("wholesale coffee jamaica 10 kg ")
    assert understand(once) == once
    assert once.text == "coffee " and once.intents == Intents(origins=("JM",), measures=("10 kg",), b2b=True)


def test_translations_are_learned_from_parallel_titles_not_written_by_hand():
    titles = [
        ({"en": "Coffee, dark roast", "es": "Café, tueste oscuro"}),
        ({"en": "Coffee, light roast", "es": "Café, tueste claro"}),
        ({"en": "Coffee, medium roast", "es": "Café, tueste medio"}),
        ({"en": "Dark chocolate", "es": "Chocolate oscuro"}),
        ({"en": "Milk chocolate", "es": "Chocolate con leche"}),
        ({"en": "Aloe gel", "es": "Gel de aloe"}),
        ({"en": "Aloe lotion", "es": "Loción de aloe"}),
    ]
    learned = lexicon.learn([document(f"prd_{n}", "mer_cibao", "food", t) for n, t in enumerate(titles)])
    assert learned["dark"] == ["oscuro"]  # "cafe" and "tueste" are explained by "coffee" and "roast"
    assert "aloe" not in learned  # a word both languages share is not a translation
    assert "light" not in learned  # one title pair is not evidence
