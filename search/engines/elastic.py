"""Elasticsearch, the production search engine (chosen when ELASTICSEARCH_URL is set).

Indices and aliases, for the default prefix "cpu-products":
- `cpu-products` is the read alias: searches, suggestions, upserts and deletes go through it.
  It points at exactly one index, `cpu-products-<UTC timestamp>`.
- `rebuild` creates a new timestamped index carrying the alias `cpu-products-building`, loads
  every document into it, refreshes it, then moves the read alias in one `update_aliases` call
  (remove from the old index, add to the new, drop the building alias), and only then deletes
  the old index. Searches see the old index or the complete new one, never a part.
- Every write carries the document's version as an external version (search.documents): a
  document replaces only a lower version of itself, and a 409 version conflict means "the same
  or a newer copy is there already", which is not an error; deletes too (the cluster keeps a
  deleted document's version for index.gc_deletes, 60 s by default).
- Upserts and deletes also go through the building alias, so a change made while a rebuild is
  loading (from any process) reaches the new index too; by the versions, such a fresher copy
  is not overwritten by the rebuild's older one. When no rebuild is running the building alias
  does not exist and those writes fail harmlessly.
- Every write carries require_alias, so a write never creates an index with guessed mappings.
  Before the first rebuild there is no index: writes are skipped (the first rebuild reads the
  whole catalog) and searches answer empty.
- A product deleted while a rebuild is loading can come back with the rebuild's copy if that
  copy was read before the delete and sent more than gc_deletes after it: after the swap,
  search.indexer's catch-up has the relay apply that delete again.
- An index written before versions were sent holds Elasticsearch's own version counts, which
  are no revisions: after deploying versioned writes, run `cpu search reindex` once.

Searching follows the embedded engine's rules (see elastic_query): when nothing matches every
word of the text under the filters, the engine asks again with one word fewer required, down
to half of them.

The request bodies are pure functions (elastic_mapping, elastic_query, elastic_response),
golden-tested without a server in tests/search/test_elastic_golden.py.

What the cluster must be:
- Elasticsearch 9.x. The pinned 9.x client sends `compatible-with=9` headers, which an 8.x
  server refuses with 400 media_type_header_exception; an 8.x cluster needs the 8.19 client.
- `search.allow_expensive_queries` left on (the default): typo tolerance is fuzzy queries,
  completions are prefix queries.
- An API key that may create and delete `cpu-products-*` indices and move their aliases.

A search the cluster cannot answer (unreachable, 429, 5xx) is SearchUnavailable: the buyer
gets a 503 with Retry-After. A refused request (other 4xx) is a bug in these bodies and
surfaces as one.

This engine has not yet met a real cluster: the bodies are checked against the reference
and the client's own request building, not against a server. On the first cluster, before
switching production to it, check (ELASTICSEARCH_URL=... make test runs the behavioural
suite there; `cpu search relevance` compares relevance with the embedded
engine):
- the analyzers' output for a few words per language (`_analyze`): elision, stemming after
  folding, the suggester's shingles;
- that typo and prefix matches on the `.folded` subfields are highlighted and named in
  `matched_queries` (corrected_terms depends on it);
- the node's clause limit against a long query (see elastic_query.MAX_EXPANSIONS);
- the time a write takes with refresh=wait_for, and the index's refresh interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import streaming_bulk

from marketplace.errors import SearchUnavailable
from search.documents import Rejected, Removal, SearchDocument
from search.engines.elastic_mapping import bulk_actions, delete_actions, index_settings_and_mappings, unwritable
from search.engines.elastic_query import query_body, relaxations, suggest_body
from search.engines.elastic_response import empty_result, search_result, suggestions, total_hits
from search.gateways import Built
from search.query import SearchQuery, SearchResult
from search.understanding import understand

__all__ = [
    "ElasticsearchEngine", "SearchIndexError", "bulk_actions", "index_settings_and_mappings", "query_body",
    "search_result", "suggest_body", "suggestions",
]

log = logging.getLogger(__name__)


class SearchIndexError(RuntimeError):
    """Elasticsearch refused some documents; `errors` holds its item responses (a few)."""

    def __init__(self, message: str, errors: list[dict]):
        super().__init__(f"{message}: {errors[:3]}")
        self.errors = errors


class ElasticsearchEngine:
    name = "elasticsearch"

    def __init__(self, *, url: str | None = None, client: Elasticsearch | None = None,
                 index_prefix: str = "cpu-products", request_timeout: float = 5.0,
                 bulk_timeout: float = 120.0, chunk_size: int = 500):
        if client is None:
            if not url:
                raise ValueError("ElasticsearchEngine needs a url or a client")
            client = Elasticsearch(url, request_timeout=request_timeout)
        self.client = client
        self.alias = index_prefix
        self.building_alias = f"{index_prefix}-building"
        self.index_prefix = index_prefix
        self.bulk_timeout = bulk_timeout
        self.chunk_size = chunk_size

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, documents: Iterable[SearchDocument]) -> list[Rejected]:
        rejected: list[Rejected] = []
        documents = list(_writable(documents, rejected))
        if documents:
            rejected += self._write([*bulk_actions(documents, self.alias), *bulk_actions(documents, self.building_alias)])
        return rejected

    def delete(self, removals: Iterable[Removal]) -> None:
        removals = list({r.id: r for r in removals}.values())
        if removals:
            self._write([*delete_actions(removals, self.alias), *delete_actions(removals, self.building_alias)])

    def _write(self, actions: list[dict]) -> list[Rejected]:
        """One bulk request per chunk, answered once the change is searchable (wait_for). A
        document the cluster refuses (4xx) is answered as rejected; a failure that may pass
        (429, 5xx) raises, so that the write is tried again."""
        results = streaming_bulk(self.client, actions, chunk_size=self.chunk_size, raise_on_error=False,
                                 raise_on_exception=True, refresh="wait_for", require_alias=True)
        errors, rejected = [], {}
        for action, (ok, item) in zip(actions, results, strict=True):
            if ok:
                continue
            info = next(iter(item.values()))
            kind = _error_type(info)
            if kind == "version_conflict_engine_exception":
                continue  # the index holds this version or a newer one: nothing to do
            if action["_op_type"] == "delete" and info.get("status") == 404 and kind is None:
                continue  # the document was not there: absent ids are ignored
            if kind == "index_not_found_exception":
                if action["_index"] == self.alias:
                    log.warning("search index alias %s does not exist yet; run a rebuild", self.alias)
                continue  # the building alias exists only while a rebuild runs
            if action["_op_type"] == "index" and _refused(info):
                rejected[action["_id"]] = Rejected(action["_id"], f"refused by Elasticsearch: {info.get('error')}")
                continue
            errors.append(info)
        if errors:
            raise SearchIndexError(f"{len(errors)} search index write(s) failed", errors)
        return list(rejected.values())

    # -- rebuild --------------------------------------------------------------------------

    def rebuild(self, documents: Iterable[SearchDocument], progress: Callable[[int], None] | None = None) -> Built:
        """Load every document into a new index, then switch the read alias to it at once.
        `progress(done)` is called with the running count after each chunk and at the end; a
        document the cluster refuses is left out and named in the answer."""
        index = f"{self.index_prefix}-{datetime.now(UTC):%Y%m%d-%H%M%S-%f}"
        # Index and alias changes wait on the cluster state: give them the bulk timeout, not the
        # search one, so that a busy master does not make a switch look failed when it was not.
        admin = self.client.options(request_timeout=self.bulk_timeout + 5)
        waits = {"master_timeout": f"{self.bulk_timeout:g}s", "timeout": f"{self.bulk_timeout:g}s"}  # the cluster's side
        abandoned = self._indices_behind(self.building_alias)
        if abandoned:  # a rebuild that died before its swap; its index was never searched
            log.warning("deleting abandoned search index build(s) %s", abandoned)
            admin.indices.delete(index=abandoned, **waits)
        admin.indices.create(index=index, aliases={self.building_alias: {}}, **waits, **index_settings_and_mappings())
        try:
            built = self._load(index, documents, progress)
            admin.indices.refresh(index=index)
            previous = self._indices_behind(self.alias)
        except BaseException:
            self._discard(index)  # nothing ever searched it
            raise
        # The one atomic switch. Only a refusal (4xx) proves it was not applied; after a timeout it
        # may have been, and deleting the new index could leave searches with nothing.
        try:
            switched = admin.indices.update_aliases(**waits, actions=[
                *({"remove": {"index": old, "alias": self.alias}} for old in previous),
                {"add": {"index": index, "alias": self.alias}},
                {"remove": {"index": index, "alias": self.building_alias}},
            ])
        except ApiError as refused:
            if refused.status_code < 500:
                self._discard(index)
            raise
        if not _body(switched).get("acknowledged", True):  # committed, but not every node said so in time
            log.warning("the switch of alias %s to %s is not yet acknowledged by every node", self.alias, index)
        if previous:
            admin.indices.delete(index=previous, **waits)
        log.info("search index %s built with %d documents (%d refused); alias %s moved from %s", index, built.indexed,
                 len(built.rejected), self.alias, previous or "nothing")
        return built

    def _load(self, index: str, documents: Iterable[SearchDocument], progress: Callable[[int], None] | None) -> Built:
        done, rejected = 0, []
        loader = self.client.options(request_timeout=self.bulk_timeout)
        for ok, item in streaming_bulk(loader, bulk_actions(_writable(documents, rejected), index),
                                       chunk_size=self.chunk_size, raise_on_error=False, raise_on_exception=True):
            info = next(iter(item.values()))
            if not ok and _error_type(info) != "version_conflict_engine_exception":  # conflict: a live upsert was newer
                if not _refused(info):
                    raise SearchIndexError(f"search index rebuild of {index} failed", [info])
                rejected.append(Rejected(info.get("_id", "?"), f"refused by Elasticsearch: {info.get('error')}"))
                continue
            done += 1
            if progress and done % self.chunk_size == 0:
                progress(done)
        if progress and (done == 0 or done % self.chunk_size):
            progress(done)
        return Built(done, rejected)

    def drop(self) -> None:
        """Delete this engine's indices and aliases (throwaway test indices, tools)."""
        names = sorted({*self._indices_behind(self.alias), *self._indices_behind(self.building_alias)})
        if names:
            self.client.options(ignore_status=404).indices.delete(index=names)

    def _discard(self, index: str) -> None:
        try:
            self.client.options(ignore_status=404).indices.delete(index=index)
        except Exception:  # the error that brought us here is the one to report
            log.exception("could not delete the unfinished search index %s", index)

    def _indices_behind(self, alias: str) -> list[str]:
        try:
            return sorted(_body(self.client.indices.get_alias(name=alias)))
        except NotFoundError:
            return []

    # -- reads ----------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """The strictest text query that finds something under the filters: every required
        part first, then one part fewer at a time (as the embedded engine)."""
        query = understand(query)
        steps = relaxations(query.text)
        for step, required_parts in enumerate(steps, start=1):
            try:
                response = self._search(query_body(query, required_parts))
            except NotFoundError:  # no index built yet
                return empty_result(query)
            if step == len(steps) or total_hits(response):
                return search_result(response, query)
        raise AssertionError("unreachable: relaxations() is never empty")

    def suggest(self, prefix: str, *, language: str = "en", limit: int = 8, audience: str = "retail") -> list[str]:
        prefix = prefix.strip()
        if not prefix or limit <= 0:
            return []
        try:
            response = self._search(suggest_body(prefix, language, limit, audience))
        except NotFoundError:
            return []
        return suggestions(response, language)[:limit]

    def _search(self, body: dict) -> Mapping:
        """The response body; an unreachable, overloaded or failing cluster is SearchUnavailable
        (503 with Retry-After for the buyer). A refused request (4xx) is a bug here, and raised."""
        try:
            return _body(self.client.search(index=self.alias, body=body))
        except ApiError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                log.warning("Elasticsearch answered %s: %s", exc.status_code, exc)
                raise SearchUnavailable("Search is busy; try again in a few seconds.") from exc
            raise
        except TransportError as exc:  # no answer: refused, timed out, TLS
            log.warning("Elasticsearch unreachable: %s", exc)
            raise SearchUnavailable("Search is not reachable; try again in a few seconds.") from exc


def _body(response) -> Mapping:
    return getattr(response, "body", response)


def _writable(documents: Iterable[SearchDocument], rejected: list[Rejected]) -> Iterator[SearchDocument]:
    """The documents that can be sent; the others go to `rejected`."""
    for document in documents:
        problem = unwritable(document)
        if problem is None:
            yield document
        else:
            log.warning("search document %s %s", document.id, problem)
            rejected.append(Rejected(document.id, problem))


def _refused(info: Mapping) -> bool:
    """A 4xx answer for one document: the document is at fault, sending it again fails again."""
    return 400 <= int(info.get("status") or 500) < 500 and info.get("status") != 429


def _error_type(info: Mapping) -> str | None:
    error = info.get("error")
    return error.get("type") if isinstance(error, Mapping) else None
