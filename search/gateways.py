"""The search engine interface and how one is chosen.

Production runs Elasticsearch (ELASTICSEARCH_URL set); everything else, `make run` included,
runs the embedded tantivy engine in the process. Both pass the same behavioural tests
(tests/search/test_engine_behaviour.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from search.documents import Rejected, Removal, SearchDocument
from search.query import SearchQuery, SearchResult


@dataclass(frozen=True)
class Built:
    indexed: int
    rejected: list[Rejected] = field(default_factory=list)  # documents the engine could not write


class SearchEngine(Protocol):
    name: str

    def upsert(self, documents: Iterable[SearchDocument]) -> list[Rejected]:
        """Add documents, or replace those at a lower version (a document at the same or a
        higher version is newer or equal, and stays); visible to searches once this returns.
        A document the engine cannot write is left out and answered, the others are written."""

    def delete(self, removals: Iterable[Removal]) -> None:
        """Remove documents at a lower version than their removal, and keep that version, so
        that an older copy arriving later is refused; absent ids are ignored."""

    def rebuild(self, documents: Iterable[SearchDocument], progress: Callable[[int], None] | None = None) -> Built:
        """Build a complete new index from `documents`, then switch searches to it at once;
        searches never see a half-built index. A document that cannot be written is left out
        and named in the answer."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def suggest(self, prefix: str, *, language: str = "en", limit: int = 8, audience: str = "retail") -> list[str]:
        """Completions for what the buyer is typing: titles of products that `audience` may
        find (as in SearchQuery.audience), best first."""


def engine_for(settings) -> SearchEngine:
    """Elasticsearch when ELASTICSEARCH_URL is set, else the embedded engine in the instance folder."""
    if settings.elasticsearch_url:
        from search.engines.elastic import ElasticsearchEngine

        return ElasticsearchEngine(url=settings.elasticsearch_url)
    from search.engines.embedded import EmbeddedEngine

    return EmbeddedEngine(settings.instance_path / "search")
