"""A bulkhead per region: at most `slots` units of work on one region at a time in this
process, and the next one refused within moments (503, Retry-After) instead of queueing.

A region in trouble holds every request that reaches it until its deadline. Without a bound,
a burst of requests for that one region takes every thread of the server, and the other
regions' requests wait behind them. The bound is the region's connection pool (pool_size plus
its overflow): work beyond it would only queue for a connection. A slot is waited for
briefly: healthy work frees one in milliseconds, so a burst is served, while the slots of a
region in trouble stay taken until deadlines run out, and that wait is refused.
"""

from __future__ import annotations

import threading

from marketplace.errors import RegionUnavailable

SLOT_WAIT_SECONDS = 0.1


class Bulkhead:
    def __init__(self, slots: int):
        self.slots = slots
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def enter(self, region: str) -> None:
        """Take one of the region's slots, or raise RegionUnavailable when all are taken."""
        if not self._semaphore(region).acquire(timeout=SLOT_WAIT_SECONDS):
            raise RegionUnavailable(region, retry_after=1, reason=f"all {self.slots} of its slots in this server are busy")

    def leave(self, region: str) -> None:
        self._semaphore(region).release()

    def _semaphore(self, region: str) -> threading.BoundedSemaphore:
        semaphore = self._semaphores.get(region)
        if semaphore is None:
            with self._lock:
                semaphore = self._semaphores.setdefault(region, threading.BoundedSemaphore(self.slots))
        return semaphore
