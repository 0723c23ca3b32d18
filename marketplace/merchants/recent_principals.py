"""Principals checked a moment ago, kept for `CPU_PRINCIPAL_CACHE_SECONDS` per application.

Every API request names an API key and every dashboard request a session; reading the shard
for each would cost a round trip per request. A principal found here is at most that many
seconds old: a revocation in this process drops its entries at once (`drop_where`), one in
another process is seen when the entry expires. API keys are kept under "<key id>:<digest of
the secret>" and sessions under the digest of their token, so the two never meet, and a wrong
secret for a cached key id is simply a miss that the database then refuses.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from cachetools import TTLCache

from marketplace.merchants.auth import Principal
from marketplace.regions.router import Router

MOST_KEPT = 10_000


class RecentPrincipals:
    """A thread-safe map from a proof of identity to its principal, for a few seconds."""

    def __init__(self, seconds: float):
        self._entries: TTLCache[str, Principal] | None = TTLCache(MOST_KEPT, ttl=seconds) if seconds > 0 else None
        self._lock = threading.Lock()  # TTLCache is not thread-safe

    def get(self, key: str) -> Principal | None:
        if self._entries is None:
            return None
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, principal: Principal) -> None:
        if self._entries is not None:
            with self._lock:
                self._entries[key] = principal

    def drop_where(self, matches: Callable[[str, Principal], bool]) -> None:
        if self._entries is not None:
            with self._lock:
                for key in [k for k, p in self._entries.items() if matches(k, p)]:
                    self._entries.pop(key, None)


_caches: weakref.WeakKeyDictionary[Router, RecentPrincipals] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def of(router: Router) -> RecentPrincipals:
    """The cache of one application's router (each app in a process keeps its own)."""
    with _caches_lock:
        cache = _caches.get(router)
        if cache is None:
            cache = _caches[router] = RecentPrincipals(router.settings.principal_cache_seconds)
        return cache
