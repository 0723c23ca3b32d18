"""Relevance of the embedded engine over the demo catalogue, against the judged queries in
tests/search/relevance/tuning.toml and test.toml (see search/relevance.py for the measures).

The test set is never tuned on: its figure is the honest one. The floors below are what the
engine measured when they were last raised; a change that lowers one must say why."""

from __future__ import annotations

import pytest

from marketplace import demo
from search import relevance
from search.engines.embedded import EmbeddedEngine

# Measured when the sets were split and the test set's new queries were written (before any
# tuning on them): tuning 0.828, test 0.802 (place 0.54, language 0.83, typo 0.82, b2b 0.74,
# quantity 0.96, plain 0.96). With query understanding (origins, quantities, B2B words),
# typo tolerance from 4 letters, learned translations and keywords without the merchant's
# name: tuning 0.942, test 0.919 (place 0.91, language 0.87, typo 0.94, b2b 0.87, quantity
# 0.96, plain 0.97). Deterministic: the same catalogue and index give the same figure on
# every run.
MEASURED_NDCG_AT_10 = {"tuning": 0.942, "test": 0.919}
GROUP_AT_LEAST = 0.85  # the test set, in every group
TUNED_LEAD_AT_MOST = 0.05  # the tuning set's lead over the test set: more is learning the exam
TYPO_TOP3_AT_LEAST = 0.90


@pytest.fixture(scope="module")
def documents():
    return relevance.demo_documents()


@pytest.fixture(scope="module")
def sets():
    return {name: relevance.load_judged(name) for name in relevance.SETS}


@pytest.fixture(scope="module")
def reports(documents, sets):
    engine = EmbeddedEngine(None, writer_threads=1)  # one segment: ties always break the same way
    engine.rebuild(documents)
    return {name: relevance.evaluate(engine, judged, documents, name) for name, judged in sets.items()}


def test_both_sets_cover_every_group_and_language(sets):
    for name, judged in sets.items():
        assert {j.group for j in judged} == set(relevance.GROUPS), name
        assert {j.options.get("language") for j in judged} >= {None, "es", "fr", "nl"}, name
    assert len(sets["test"]) >= 150
    assert not {j.text for j in sets["test"]} & {j.text for j in sets["tuning"]}, "a query is in both sets"


def test_every_judgement_names_a_demo_product(sets, documents):
    refs = {f"{family.code}-{variety.code}" for family in demo.FAMILIES.values() for variety in family.varieties}
    handles = {m.handle for m in demo.MERCHANTS}
    countries = {c for d in documents for c in d.origin_countries}
    for judged in sets.values():
        for j in judged:
            for key in j.grades:
                scope, _, ref = key.rpartition(":") if ":" in key else key.rpartition("/")
                assert ref in refs and (not scope or scope in handles | countries), f"{j.text!r}: no demo product {key!r}"
            assert any(j.grade(d.id, d.origin_countries) for d in documents if j.allows(d)), \
                f"{j.text!r}: nothing it grades can be shown"


@pytest.mark.parametrize("name", relevance.SETS)
def test_ndcg_at_10_does_not_drop(reports, name):
    report = reports[name]
    worst = sorted(report.measured, key=lambda m: m.ndcg)[:5]
    assert round(report.ndcg, 3) >= MEASURED_NDCG_AT_10[name], "weakest: " + ", ".join(
        f"{m.judged.text!r} {m.ndcg:.2f}" for m in worst)


@pytest.mark.parametrize("group", relevance.GROUPS)
def test_every_group_of_the_test_set_is_good_enough(reports, group):
    measured = reports["test"].group(group)
    worst = sorted(measured.measured, key=lambda m: m.ndcg)[:3]
    assert measured.ndcg >= GROUP_AT_LEAST, "weakest: " + ", ".join(f"{m.judged.text!r} {m.ndcg:.2f}" for m in worst)


def test_the_tuning_set_does_not_lead_the_test_set_by_much(reports):
    assert reports["tuning"].ndcg - reports["test"].ndcg <= TUNED_LEAD_AT_MOST


def test_one_typo_still_puts_the_intended_product_in_the_top_three(reports):
    missed = [m.judged.text for m in reports["test"].measured if m.judged.kind == "typo" and not m.top3]
    assert reports["test"].typo_top3() >= TYPO_TOP3_AT_LEAST, f"missed: {missed}"
