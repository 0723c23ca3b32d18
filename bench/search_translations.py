"""What the learned translations (search/lexicon.py) cost and gain: the judged queries of both
sets over the demo catalogue on the embedded engine, with and without search/lexicon.toml,
in the same run. Prints nDCG@10 per set and the language group, and query latency p50/p95.

    PYTHONPATH=. .venv/bin/python bench/search_translations.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search import relevance, synonyms  # noqa: E402
from search.engines.embedded import EmbeddedEngine  # noqa: E402


def measure(rounds: int) -> tuple[dict[str, relevance.Report], list[float]]:
    documents = relevance.demo_documents()
    engine = EmbeddedEngine(None, writer_threads=1)
    engine.rebuild(documents)
    sets = {name: relevance.load_judged(name) for name in relevance.SETS}
    reports = {name: relevance.evaluate(engine, judged, documents, name) for name, judged in sets.items()}
    times = []
    for _ in range(rounds):
        for judged in sets.values():
            for j in judged:
                started = time.perf_counter()
                engine.search(j.query)
                times.append((time.perf_counter() - started) * 1000)
    return reports, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    learned = synonyms.LEXICON_FILE
    figures = {}
    for label, lexicon in (("without learned translations", learned.with_name("absent.toml")), ("with learned translations", learned)):
        synonyms.LEXICON_FILE = lexicon
        synonyms.groups.cache_clear()
        reports, times = measure(args.rounds)
        p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
        figures[label] = p95
        print(f"{label:<30} " + "  ".join(f"{n} {r.ndcg:.3f} (language {r.group('language').ndcg:.3f})" for n, r in reports.items())
              + f"  latency p50 {p50:.2f} ms p95 {p95:.2f} ms (n={len(times)})")
    synonyms.LEXICON_FILE = learned
    base, new = figures.values()
    print(f"ratio p95 with / without: {new / base:.2f}x; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
