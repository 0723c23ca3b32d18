"""The search engine interface and how one is chosen.

Production runs Elasticsearch (ELASTICSEARCH_URL set); everything else, `make run` included,
runs the embedded tantivy engine in the process. Both pass the same behavioural tests
(tests/search/test_engine_behaviour.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from search.documents import SearchDocument
from search.query import SearchQuery, SearchResult


class SearchEngine(Protocol):
    name: str

    def upsert(self, documents: Iterable[SearchDocument]) -> None:
        """Add or replace documents; visible to searches once this returns."""

    def delete(self, ids: Iterable[str]) -> None:
        """Remove documents; absent ids are ignored."""

    def rebuild(self, documents: Iterable[SearchDocument], progress: Callable[[int], None] | None = None) -> int:
        """Build a complete new index from `documents`, then switch searches to it at once;
        searches never see a half-built index. Returns the number of documents."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def suggest(self, prefix: str, *, language: str = "en", limit: int = 8) -> list[str]:
        """Completions for what the buyer is typing: product titles, best first."""


def engine_for(settings) -> SearchEngine:
    """Elasticsearch when ELASTICSEARCH_URL is set, else the embedded engine in the instance folder."""
    if settings.elasticsearch_url:
        from search.engines.elastic import ElasticsearchEngine

        return ElasticsearchEngine(url=settings.elasticsearch_url)
    from search.engines.embedded import EmbeddedEngine

    return EmbeddedEngine(settings.instance_path / "search")
