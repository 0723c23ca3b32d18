"""The embedded search engine: tantivy, in the process, on files under the instance folder.

Why tantivy. It is a Lucene-like library (BM25, per-language stemmers, fuzzy and prefix terms,
phrase queries, aggregations) that runs inside the Python process, so `make run` needs no
search server. SQLite FTS5, the other candidate, has no typo tolerance at all and was about
20x slower on faceted queries over the same catalogue (each facet is a GROUP BY over the
matching rows, where tantivy counts over columnar fast fields).

One writer. A tantivy index takes one writer at a time (it holds a lock file; a second one
fails with "LockBusy", raised here as IndexBusy). Only the indexing process writes: in the
embedded default that is the server's outbox relay thread, otherwise the `cpu relay` process
and the `cpu search reindex` command. Inside the process a lock serialises writers, and an
upsert arriving during a rebuild waits for the switch, then goes into the new index. Every
other process only reads: its reader reloads after each commit (tantivy watches the index's
meta.json), and it looks at the CURRENT pointer at most once a second to follow a rebuild
into its new directory. While `cpu search reindex` runs in its own process, the relay goes
on indexing into the generation in use, so a product changed after the rebuild read it is
stale in the new one until search.indexer's catch-up, right after the switch, has the relay
index it again.

Layout on disk (`path`):

    CURRENT          {"generation": "g-...", "schema": 1}, replaced atomically
    g-<time>/        one complete tantivy index per generation

`rebuild` writes a new generation beside the current one and switches CURRENT to it only
when it is complete and committed, so searches never see a half-built index; the previous
generation is kept until the next rebuild, for readers still finishing a search on it.
With `path=None` the index lives in memory (tests, tools).

Versions. A document replaces the copy of its product only when its version is higher, and a
removal leaves a tombstone with its version (see search.documents): the version is read and
the document written under the one write lock, so two indexers writing in the wrong order
leave the newer copy, as Elasticsearch's external versioning does. A document that cannot be
written (text that is not valid Unicode) is left out and answered; the others are written.

The rest lives beside this module: the index layout and analyzers in embedded_schema; free
text, filters, sorting and facets in embedded_query; typo tolerance in embedded_typos;
highlights in embedded_highlight. Ranking is BM25, multiplied by a small popularity factor
(at most a few tenths, see embedded_schema.popularity_boost).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import tantivy

from search import synonyms
from search.documents import Rejected, Removal, SearchDocument
from search.engines import embedded_query as queries
from search.engines.embedded_highlight import Highlighter, display, matched_words
from search.engines.embedded_schema import (LANGUAGES, PLAIN, SCHEMA, SCHEMA_VERSION, analyze, register_analyzers, to_tantivy,
                                            tombstone)
from search.gateways import Built
from search.query import FACETS, SORTS, FacetValue, Hit, SearchQuery, SearchResult, merchant_facet_value
from search.understanding import understand

log = logging.getLogger(__name__)

POINTER = "CURRENT"
REBUILD_HEAP = 256_000_000  # bytes for the rebuild writer, shared by its threads
UPSERT_HEAP = 32_000_000
POINTER_CHECK_SECONDS = 1.0
PROGRESS_EVERY = 1000
SUGGEST_CANDIDATES = 64
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="search-facets")  # shared by concurrent searches
SORT_FIELDS = {"price_asc": ("price_usd", tantivy.Order.Asc), "price_desc": ("price_usd", tantivy.Order.Desc),
               "newest": ("created_at", tantivy.Order.Desc)}


class IndexBusy(RuntimeError):
    """Another process holds the index's writer lock: only the indexing process may write."""


@dataclass(frozen=True)
class Generation:
    name: str
    index: tantivy.Index
    directory: Path | None


class EmbeddedEngine:
    name = "embedded"

    def __init__(self, path: Path | None = None, *, writer_threads: int | None = None):
        self._path = Path(path) if path is not None else None
        self._threads = writer_threads or max(1, min(4, os.cpu_count() or 1))
        self._write_lock = threading.Lock()
        self._pointer_lock = threading.Lock()
        self._pointer_seen: tuple[int, int] | None = None
        self._pointer_checked = 0.0
        self._generation = self._open()

    # Writing -----------------------------------------------------------------------------------

    def upsert(self, documents: Iterable[SearchDocument]) -> list[Rejected]:
        documents = list(documents)
        rejected: list[Rejected] = []
        if documents:
            self._write(lambda writer, versions: rejected.extend(_upsert_newer(writer, versions, documents)))
        return rejected

    def delete(self, removals: Iterable[Removal]) -> None:
        removals = list(removals)
        if removals:
            self._write(lambda writer, versions: _delete_newer(writer, versions, removals))

    def rebuild(self, documents: Iterable[SearchDocument], progress: Callable[[int], None] | None = None) -> Built:
        """Write every document into a new generation, then switch to it. If anything fails on
        the way (the catalogue cannot be read, the disk is full), the new generation is thrown
        away and searches go on with the old one; a document that cannot be written is left
        out and named. `progress(done)` gets the running count every PROGRESS_EVERY documents
        and at the end. Upserts and deletes wait for the switch, then apply to the new
        generation."""
        with self._write_lock:
            fresh = self._new_generation()
            try:
                built = self._fill(fresh, documents, progress)
            except BaseException:
                _remove(fresh.directory)
                raise
            self._switch(fresh)
        if progress and (built.indexed == 0 or built.indexed % PROGRESS_EVERY):
            progress(built.indexed)
        return built

    def _fill(self, generation: Generation, documents: Iterable[SearchDocument], progress) -> Built:
        writer = self._writer(generation.index, REBUILD_HEAP, self._threads)
        count, rejected = 0, []
        try:
            for document in documents:
                prepared = _prepared(document)
                if isinstance(prepared, Rejected):
                    rejected.append(prepared)
                    continue
                writer.add_document(prepared)
                count += 1
                if progress and count % PROGRESS_EVERY == 0:
                    progress(count)
            writer.commit()
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()  # merges finish and the writer lock is released
        generation.index.reload()
        return Built(count, rejected)

    def _write(self, change: Callable[[tantivy.IndexWriter, Versions], object]) -> None:
        with self._write_lock:  # versions are compared and written under one lock: no other write between
            generation = self._current(force=True)
            versions = Versions(generation.index.searcher())
            writer = self._writer(generation.index, UPSERT_HEAP, 1)
            try:
                change(writer, versions)
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()  # merges finish, and the writer lock is released
            generation.index.reload()

    def _writer(self, index: tantivy.Index, heap: int, threads: int) -> tantivy.IndexWriter:
        try:
            return index.writer(heap_size=heap, num_threads=threads)
        except ValueError as exc:
            if "lock" in str(exc).lower():
                raise IndexBusy(f"the search index at {self._path} is being written by another process") from exc
            raise

    # Reading -----------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        if query.sort not in SORTS:
            raise ValueError(f"unknown sort {query.sort!r}")
        query = understand(query)
        searcher = self._current().index.searcher()
        plan = queries.plan_text(query.text, query.language, searcher) if query.text.strip() else None
        boosts = queries.intent_boosts(query.intents, query.audience)
        active = queries.filters(query)
        strict = queries.boosted(plan.query() if plan else None, boosts)
        # tantivy lets go of the GIL while it searches: the facet passes for the strict query
        # run beside the search for the hits, and are redone only when that search relaxes it.
        aggregations = queries.facet_aggregations(query.price_rungs_usd)
        counting = self._count_facets(searcher, strict, active, aggregations) if query.facets else []
        text, found = _first_that_finds(searcher, plan, strict, active, query, boosts)
        if text is not strict and query.facets:
            counting = self._count_facets(searcher, text, active, aggregations)
        items = _hits(searcher, found, plan, query)[: query.limit]
        return SearchResult(
            items=items,
            total=found.count,
            facets=_facets([future.result() for future in counting]) if query.facets else {},
            corrected_terms=plan.corrections if plan else (),
        )

    @staticmethod
    def _count_facets(searcher: tantivy.Searcher, text, active, aggregations) -> list[Future]:
        return [_POOL.submit(searcher.aggregate, *args) for args in queries.facet_passes(text, active, aggregations)]

    def suggest(self, prefix: str, *, language: str = "en", limit: int = 8, audience: str = "retail") -> list[str]:
        words = analyze(PLAIN, prefix)
        if not words or limit <= 0:
            return []
        searcher = self._current().index.searcher()
        languages = [language] if language == "en" or language not in LANGUAGES else [language, "en"]
        titles: dict[str, str] = {}
        for lang in languages:
            for title in _completions(searcher, words, lang, prefix, audience):
                titles.setdefault(synonyms.fold(title), title)
            if len(titles) >= limit:
                break
        return list(titles.values())[:limit]

    def count(self) -> int:
        """Documents a search can find (removals are kept as tombstones, and not counted)."""
        live = tantivy.Query.term_query(SCHEMA, "live", True)
        return self._current().index.searcher().search(live, 1, count=True).count

    # Generations -------------------------------------------------------------------------------

    def _open(self) -> Generation:
        if self._path is None:
            return self._new_generation()
        self._path.mkdir(parents=True, exist_ok=True)
        pointer = self._read_pointer()
        if pointer and pointer.get("schema") == SCHEMA_VERSION:
            directory = self._path / pointer["generation"]
            if tantivy.Index.exists(str(directory)):
                return Generation(pointer["generation"], register_analyzers(tantivy.Index.open(str(directory))), directory)
        if pointer:
            log.warning("search index at %s has schema %s, this code needs %s: starting empty, run a rebuild",
                        self._path, pointer.get("schema"), SCHEMA_VERSION)
        fresh = self._new_generation()
        self._write_pointer(fresh)
        return fresh

    def _new_generation(self) -> Generation:
        name = f"g-{time.time_ns()}"
        if self._path is None:
            return Generation(name, register_analyzers(tantivy.Index(SCHEMA)), None)
        directory = self._path / name
        directory.mkdir(parents=True)
        return Generation(name, register_analyzers(tantivy.Index(SCHEMA, path=str(directory))), directory)

    def _switch(self, fresh: Generation) -> None:
        previous = self._generation
        if self._path is not None:
            self._write_pointer(fresh)
            keep = {fresh.name, previous.name}
            for old in self._path.glob("g-*"):
                if old.name not in keep:
                    _remove(old)
        self._generation = fresh

    def _current(self, *, force: bool = False) -> Generation:
        """The generation to use, following another process's rebuild (checked once a second)."""
        if self._path is None:
            return self._generation
        now = time.monotonic()
        if not force and now - self._pointer_checked < POINTER_CHECK_SECONDS:
            return self._generation
        with self._pointer_lock:
            self._pointer_checked = now
            try:
                stat = (self._path / POINTER).stat()
            except FileNotFoundError:
                return self._generation
            if (stat.st_mtime_ns, stat.st_ino) != self._pointer_seen:
                self._pointer_seen = (stat.st_mtime_ns, stat.st_ino)
                pointer = self._read_pointer()
                if pointer and pointer.get("schema") == SCHEMA_VERSION and pointer["generation"] != self._generation.name:
                    self._follow(pointer["generation"])
        return self._generation

    def _follow(self, name: str) -> None:
        directory = self._path / name
        try:
            self._generation = Generation(name, register_analyzers(tantivy.Index.open(str(directory))), directory)
        except ValueError:  # already replaced by a newer rebuild: the next look finds that one
            log.warning("search index generation %s vanished before it could be opened", directory)
            self._pointer_seen = None

    def _read_pointer(self) -> dict | None:
        try:
            return json.loads((self._path / POINTER).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _write_pointer(self, generation: Generation) -> None:
        temporary = self._path / f"{POINTER}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps({"generation": generation.name, "schema": SCHEMA_VERSION}))
        os.replace(temporary, self._path / POINTER)
        stat = (self._path / POINTER).stat()
        self._pointer_seen = (stat.st_mtime_ns, stat.st_ino)


class Versions:
    """The version each id is at in the index (a document's or its removal's), and the ones
    this write has set."""

    def __init__(self, searcher: tantivy.Searcher):
        self._searcher = searcher
        self._written: dict[str, int] = {}

    def is_newer(self, id_: str, version: int) -> bool:
        """Whether `version` is above the one `id_` is at: only then does it replace it."""
        current = self._written.get(id_)
        if current is None:
            found = self._searcher.search(tantivy.Query.term_query(SCHEMA, "id", id_), 1).hits
            current = self._searcher.doc(found[0][1])["version"][0] if found else None
        return current is None or version > current

    def set(self, id_: str, version: int) -> None:
        self._written[id_] = version


def _upsert_newer(writer: tantivy.IndexWriter, versions: Versions, documents: list[SearchDocument]) -> list[Rejected]:
    rejected = []
    for document in documents:
        if not versions.is_newer(document.id, document.version):
            continue  # a newer (or the same) copy is there already
        prepared = _prepared(document)
        if isinstance(prepared, Rejected):
            rejected.append(prepared)
            continue
        writer.delete_documents_by_term("id", document.id)
        writer.add_document(prepared)
        versions.set(document.id, document.version)
    return rejected


def _delete_newer(writer: tantivy.IndexWriter, versions: Versions, removals: list[Removal]) -> None:
    for removal in removals:
        if versions.is_newer(removal.id, removal.version):
            writer.delete_documents_by_term("id", removal.id)
            writer.add_document(tombstone(removal))
            versions.set(removal.id, removal.version)


def _prepared(document: SearchDocument) -> tantivy.Document | Rejected:
    try:
        return to_tantivy(document)
    except Exception as exc:  # one document's bad data (text that is not valid Unicode) must not fail the others
        log.warning("search document %s cannot be written: %s", document.id, exc)
        return Rejected(document.id, f"cannot be written: {exc}")


def _remove(directory: Path | None) -> None:
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)


def _first_that_finds(searcher: tantivy.Searcher, plan, strict, active, query: SearchQuery, boosts):
    """(text query, top hits): every word must match (`strict`), unless that finds fewer than
    FEW products under the filters; then one word fewer at a time, until FEW are found."""
    best = strict
    found = _top(searcher, queries.combine(best, active), query)
    for minimum in plan.relaxations()[1:] if plan else ():
        if found.count >= queries.FEW:
            break
        candidate = queries.boosted(plan.query(minimum), boosts)
        more = _top(searcher, queries.combine(candidate, active), query)
        if more.count > found.count:
            best, found = candidate, more
    return best, found


def _top(searcher: tantivy.Searcher, main: tantivy.Query, query: SearchQuery):
    limit = max(query.limit, 1)
    if query.sort == "relevance":
        return searcher.search(main, limit, count=True, offset=query.offset, weight_by_field="boost")
    field_name, order = SORT_FIELDS[query.sort]
    return searcher.search(main, limit, count=True, offset=query.offset, order_by_field=field_name, order=order)


def _hits(searcher: tantivy.Searcher, found, plan, query: SearchQuery) -> list[Hit]:
    documents = [json.loads(searcher.doc(address)["document"][0]) for _, address in found.hits]
    extra = matched_words(plan, [display(d["title"], query.language) for d in documents]) if plan else set()
    highlighter = Highlighter(searcher, plan, extra)
    scored = query.sort == "relevance"  # a sorted list has no scores (the order key is the price or date)
    return [_hit(d, score if scored else 0.0, highlighter, query.language) for (score, _), d in zip(found.hits, documents, strict=True)]


def _facets(results: list[dict]) -> dict[str, list[FacetValue]]:
    counts = queries.facet_values(results)
    return {name: [merchant_facet_value(v, c) if name == "merchant" else FacetValue(v, c)
                   for v, c in _ordered(name, counts.get(name, []))] for name in FACETS}


def _hit(document: dict, score: float, highlighter: Highlighter, language: str) -> Hit:
    return Hit(
        id=document["id"], score=float(score), title=display(document["title"], language),
        highlight=highlighter.highlight(document, language),
        merchant_id=document["merchant_id"], merchant_name=document["merchant_name"],
        merchant_handle=document["merchant_handle"], category=document["category"],
        origin_countries=tuple(document["origin_countries"]), price=document["price"], currency=document["currency"],
        price_usd=document["price_usd"], in_stock=document["in_stock"], b2b_only=document["b2b_only"],
        image_url=document.get("image_url"),
    )


def _ordered(name: str, values: list[tuple[str, int]]) -> list[tuple[str, int]]:
    if name == "price":
        return sorted(values, key=lambda v: int(v[0]))
    return sorted(values, key=lambda v: (-v[1], v[0]))


def _completions(searcher: tantivy.Searcher, words: list[str], language: str, prefix: str, audience: str) -> list[str]:
    """Titles in `language` with the earlier words and a word starting with the last one,
    best first: titles that start with what was typed, then the most popular, then the
    shortest."""
    field_name = f"title_plain_{language}"
    *whole, last = words
    clauses = [(tantivy.Occur.Must, tantivy.Query.term_query(SCHEMA, field_name, w)) for w in whole]
    clauses.append((tantivy.Occur.Must, tantivy.Query.fuzzy_term_query(SCHEMA, field_name, last, 0, True, True)))
    clauses += queries.audience_filters(audience)
    found = searcher.search(tantivy.Query.boolean_query(clauses), SUGGEST_CANDIDATES, count=False, weight_by_field="boost")
    typed = synonyms.fold(prefix.strip())
    ranked = []
    for score, address in found.hits:
        document = json.loads(searcher.doc(address)["document"][0])
        title = document["title"].get(language)
        if title:
            ranked.append((not synonyms.fold(title).startswith(typed), -score, len(title), title))
    return [title for *_, title in sorted(ranked)]
