"""Relevance of the embedded engine over the demo catalogue, against the judged queries in
tests/search/relevance/judged.toml (see search/relevance.py for the measures)."""

from __future__ import annotations

import pytest

from marketplace import demo
from search import relevance
from search.engines.embedded import EmbeddedEngine

# Measured when the judged set was written: 90 queries, nDCG@10 0.9130 (by kind: plain 0.95,
# synonym 0.99, typo 0.99, b2b 0.94, place 0.82, other languages 0.72), recall@10 0.83.
# Raised with the translation groups of search/synonyms.toml (products whose merchant wrote no
# title in the buyer's language are found through them): nDCG@10 0.9527 (plain 0.955, synonym
# 0.99, typo 0.99, b2b 0.94, place 0.82, other languages 0.94), recall@10 0.88, one-typo
# queries 12/12 in the top three. Deterministic: the same catalogue and index give the same
# figure on every run. Raise it when relevance improves; a change that lowers it must say why.
MEASURED_NDCG_AT_10 = 0.953
TYPO_TOP3_AT_LEAST = 0.90


@pytest.fixture(scope="module")
def documents():
    return relevance.demo_documents()


@pytest.fixture(scope="module")
def judged():
    return relevance.load_judged()


@pytest.fixture(scope="module")
def report(documents, judged):
    engine = EmbeddedEngine(None, writer_threads=1)  # one segment: ties always break the same way
    engine.rebuild(documents)
    return relevance.evaluate(engine, judged, documents)


def test_the_judged_set_covers_what_buyers_ask(judged):
    kinds = {j.kind for j in judged}
    assert len(judged) >= 50
    assert {"plain", "synonym", "typo", "language", "b2b", "place"} <= kinds
    assert {j.options.get("language") for j in judged} >= {None, "es", "fr", "nl"}


def test_every_judgement_names_a_demo_product(judged, documents):
    refs = {f"{family.code}-{variety.code}" for family in demo.FAMILIES.values() for variety in family.varieties}
    handles = {m.handle for m in demo.MERCHANTS}
    for j in judged:
        for key in j.grades:
            handle, _, ref = key.rpartition(":")
            assert ref in refs and (not handle or handle in handles), f"{j.text!r}: no demo product {key!r}"
        assert any(j.grade(d.id) for d in documents if j.allows(d)), f"{j.text!r}: nothing it grades can be shown"


def test_ndcg_at_10_does_not_drop(report):
    worst = sorted(report.measured, key=lambda m: m.ndcg)[:5]
    assert round(report.ndcg, 3) >= MEASURED_NDCG_AT_10, "weakest: " + ", ".join(
        f"{m.judged.text!r} {m.ndcg:.2f}" for m in worst)


def test_one_typo_still_puts_the_intended_product_in_the_top_three(report):
    missed = [m.judged.text for m in report.measured if m.judged.kind == "typo" and not m.top3]
    assert report.typo_top3() >= TYPO_TOP3_AT_LEAST, f"missed: {missed}"
