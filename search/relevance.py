"""Search relevance over the demo catalogue: nDCG@10 and recall@10 per engine.

The demo catalogue (marketplace.demo) is generated from data tables, so its documents are
built here without a database: the same products `cpu demo` writes, turned into search
documents by `search.documents.from_catalog`. Product ids are `demo:<merchant handle>:<ref>`.

The judged queries are what a buyer would type, in two sets: tests/search/relevance/tuning.toml,
which ranking may be tuned on, and tests/search/relevance/test.toml, which it never is (the
gap between the two is how much the engine has learned its own exam). Each grades products by
their demo ref, the same for every merchant that sells it ("HOT-SB": 3), for one origin
country ("JM/COF-MED": 3) or for one merchant only ("blue-mountain-coffee:COF-MED": 3); the
most specific key wins. Grades: 3 exactly what was asked for, 2 a good answer, 1 related,
absent 0.

- nDCG@10: DCG of the top ten, gain 2^grade - 1, discount log2(rank + 1), divided by the DCG
  of the best possible top ten among the products the query's filters allow.
- recall@10: graded products in the top ten over min(10, graded products allowed); capped,
  since a query with twenty right answers cannot show more than ten.
- typo top-3: for queries of kind "typo", whether a product of the highest grade is in the
  top three.

`main()` prints these per group (place, language, typo, b2b, quantity, plain) and overall for
both sets, for the embedded engine and for Elasticsearch when ELASTICSEARCH_URL is set
(`cpu search relevance`; `--queries` adds every query's line).
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from marketplace import demo
from marketplace.regions import regionmap
from search.documents import SearchDocument, from_catalog
from search.gateways import SearchEngine
from search.query import SearchQuery

JUDGED_DIR = Path(__file__).resolve().parent.parent / "tests" / "search" / "relevance"
SETS = ("tuning", "test")
GROUPS = ("place", "language", "typo", "b2b", "quantity", "plain")
GROUP_OF_KIND = {"synonym": "plain"}  # a synonym is how a plain query is matched, not a kind of buyer
K = 10
DEMO_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
QUERY_OPTIONS = ("language", "audience", "b2b_only", "ships_to", "category", "in_stock")


# The demo catalogue as search documents -----------------------------------------------------

def demo_documents() -> list[SearchDocument]:
    """Every searchable demo product (hidden ones are left out, as from_catalog does)."""
    regions = regionmap.load()
    documents = []
    for n, spec in enumerate(demo.MERCHANTS):
        country = regions.member(spec.country)
        merchant = SimpleNamespace(id=f"demo:{spec.handle}", name=spec.name, handle=spec.handle, region=country.region)
        for m, data in enumerate(demo.catalogue(spec, country.currency)):
            created = DEMO_EPOCH + timedelta(days=n, minutes=m)
            document = from_catalog(_product(spec.handle, data, country.currency, created), merchant)
            if document is not None:
                documents.append(document)
    return documents


def _product(handle: str, data: dict, currency: str, created_at: datetime) -> SimpleNamespace:
    variants = [
        SimpleNamespace(id=f"demo:{v['sku']}", currency=currency, in_stock=sum(v["stock"].values()) > 0,
                        **{k: v[k] for k in ("sku", "options", "base_price", "tiers", "moq", "case_pack", "origin_country")})
        for v in data["variants"]
    ]
    return SimpleNamespace(id=demo_id(handle, data["ref"]), variants=variants, created_at=created_at, revision=1,
                           image_urls=data.get("image_urls", []),
                           **{k: data[k] for k in ("category", "title", "description", "visibility", "ships_to_exclusions")})


def demo_id(handle: str, ref: str) -> str:
    return f"demo:{handle}:{ref}"


def ref_of(document_id: str) -> tuple[str, str]:
    """(merchant handle, product ref) of a demo product id."""
    _, handle, ref = document_id.split(":", 2)
    return handle, ref


# Judged queries ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Judged:
    text: str
    grades: dict[str, int]
    kind: str = "plain"  # plain, synonym, typo, language, b2b, place, quantity
    options: dict = field(default_factory=dict)

    @property
    def group(self) -> str:
        return GROUP_OF_KIND.get(self.kind, self.kind)

    @property
    def query(self) -> SearchQuery:
        return SearchQuery(text=self.text, limit=K, facets=False, **self.options)

    def grade(self, document_id: str, origins: Iterable[str] = ()) -> int:
        handle, ref = ref_of(document_id)
        for key in (f"{handle}:{ref}", *(f"{country}/{ref}" for country in origins), ref):
            if key in self.grades:
                return self.grades[key]
        return 0

    def allows(self, document: SearchDocument) -> bool:
        """Whether the query's own filters let this product be shown at all."""
        q = self.query
        return not (
            (q.audience == "retail" and document.b2b_only)
            or (q.b2b_only and not document.b2b_only)
            or (q.ships_to and q.ships_to in document.ships_to_exclusions)
            or (q.category and q.category not in document.category_path)
            or (q.in_stock and not document.in_stock)
        )


def load_judged(name: str = "test", directory: Path = JUDGED_DIR) -> list[Judged]:
    """One judged set by name: "tuning" or "test"."""
    path = directory / f"{name}.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))["query"]
    return [
        Judged(text=q["text"], grades=dict(q["grades"]), kind=q.get("kind", "plain"),
               options={k: q[k] for k in QUERY_OPTIONS if k in q})
        for q in raw
    ]


# Metrics -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Measured:
    judged: Judged
    ndcg: float
    recall: float
    top3: bool  # a product of the highest grade is in the top three
    ranked: list[str]


def dcg(grades: Iterable[int]) -> float:
    return sum((2**g - 1) / math.log2(rank + 2) for rank, g in enumerate(grades))


def measure(judged: Judged, ranked: list[str], documents: list[SearchDocument]) -> Measured:
    origins = {d.id: d.origin_countries for d in documents}
    allowed = sorted((judged.grade(d.id, d.origin_countries) for d in documents if judged.allows(d)), reverse=True)
    relevant = [g for g in allowed if g > 0]
    got = [judged.grade(i, origins.get(i, ())) for i in ranked[:K]]
    ideal = dcg(relevant[:K])
    ndcg = dcg(got) / ideal if ideal else 0.0
    recall = sum(1 for g in got if g > 0) / min(K, len(relevant)) if relevant else 0.0
    best = relevant[0] if relevant else 0
    top3 = best > 0 and any(judged.grade(i, origins.get(i, ())) == best for i in ranked[:3])
    return Measured(judged, ndcg, recall, top3, ranked[:K])


@dataclass(frozen=True)
class Report:
    engine: str
    measured: list[Measured]
    judged_set: str = "test"

    def group(self, name: str) -> Report:
        return Report(self.engine, [m for m in self.measured if m.judged.group == name], self.judged_set)

    @property
    def ndcg(self) -> float:
        return sum(m.ndcg for m in self.measured) / len(self.measured) if self.measured else 0.0

    @property
    def recall(self) -> float:
        return sum(m.recall for m in self.measured) / len(self.measured) if self.measured else 0.0

    def typo_top3(self) -> float:
        typos = [m for m in self.measured if m.judged.kind == "typo"]
        return sum(m.top3 for m in typos) / len(typos) if typos else 1.0


def evaluate(engine: SearchEngine, judged: list[Judged], documents: list[SearchDocument],
             judged_set: str = "test") -> Report:
    measured = [measure(j, [hit.id for hit in engine.search(j.query).items], documents) for j in judged]
    return Report(engine.name, measured, judged_set)


# The command ---------------------------------------------------------------------------------

def engines() -> list[tuple[str, Callable[[], SearchEngine]]]:
    """The embedded engine always; Elasticsearch (a throwaway index) when ELASTICSEARCH_URL is set."""
    from search.engines.embedded import EmbeddedEngine

    # One writer thread: documents land in one segment in catalogue order, so products that
    # score the same are always listed in the same order and the figures repeat exactly.
    found: list[tuple[str, Callable[[], SearchEngine]]] = [("embedded", lambda: EmbeddedEngine(None, writer_threads=1))]
    url = os.environ.get("ELASTICSEARCH_URL")
    if url:
        def elastic() -> SearchEngine:
            from search.engines.elastic import ElasticsearchEngine

            return ElasticsearchEngine(url=url, index_prefix=f"cpu-relevance-{uuid.uuid4().hex[:8]}")

        found.append(("elasticsearch", elastic))
    return found


def run(out: Callable[[str], None] = print, *, per_query: bool = False, directory: Path = JUDGED_DIR) -> list[Report]:
    """Load the demo catalogue into each engine, run both judged sets, print the figures."""
    documents = demo_documents()
    sets = {name: load_judged(name, directory) for name in SETS}
    reports = []
    for name, make in engines():
        engine = make()
        try:
            engine.rebuild(documents)
            found = [evaluate(engine, sets[s], documents, s) for s in SETS]
        finally:
            if callable(getattr(engine, "drop", None)):
                engine.drop()  # Elasticsearch: the throwaway index
        reports.extend(found)
        out(f"== {name}: {len(documents)} demo products; " + ", ".join(f"{s} set {len(sets[s])} queries" for s in SETS))
        if per_query:
            for report in found:
                _print_queries(report, out)
        _print_groups(found, out)
    if not os.environ.get("ELASTICSEARCH_URL"):
        out("(Elasticsearch not measured: ELASTICSEARCH_URL is not set)")
    return reports


def _print_queries(report: Report, out: Callable[[str], None]) -> None:
    out(f"-- {report.judged_set} set")
    out(f"{'nDCG@10':>8} {'R@10':>5} {'top3':>4}  query")
    for m in report.measured:
        options = " ".join(f"{k}={v}" for k, v in m.judged.options.items())
        out(f"{m.ndcg:8.3f} {m.recall:5.2f} {'yes' if m.top3 else 'no':>4}  {m.judged.text!r} [{m.judged.kind}] {options}".rstrip())


def _print_groups(reports: list[Report], out: Callable[[str], None]) -> None:
    """nDCG@10 (queries) per group, one column per set, and the tuning set's lead over the test set."""
    out(f"{'group':<10}" + "".join(f"{r.judged_set + ' nDCG@10':>22}" for r in reports))
    for name in (*GROUPS, None):
        parts = [r.group(name) if name else r for r in reports]
        out(f"{name or 'overall':<10}" + "".join(f"{p.ndcg:>16.3f} ({len(p.measured):>3})" for p in parts))
    by_set = {r.judged_set: r for r in reports}
    out(f"tuning - test: {by_set['tuning'].ndcg - by_set['test'].ndcg:+.3f}; recall@10 "
        + ", ".join(f"{r.judged_set} {r.recall:.2f}" for r in reports)
        + "; one-typo queries with the product in the top 3: "
        + ", ".join(f"{r.judged_set} {r.typo_top3():.0%}" for r in reports))


def main(argv: list[str] | None = None, *, echo: Callable[[str], None] = print) -> int:
    """Print nDCG@10 per group and overall for the tuning and test sets, for each engine."""
    run(echo, per_query="--queries" in (argv or []))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
