"""Per-region circuit breaker: once a region's database has failed, requests for it fail at
once (503 with Retry-After) instead of each waiting for its own timeout.

After the pause one request, and only one, is let through as a probe while the others keep
failing fast; its success closes the breaker, its failure opens it for another pause. The
probe is the thread that was let through, not one call: a request that checks the region
first and then opens its unit of work there (a registration) is the probe in both, so a
worker that sees only writes for a recovered region still closes the breaker.

The probe is short (PROBE_SECONDS): a recovered region answers a request's first statements
in milliseconds, so a probe that waits longer finds the region still away and its request a
quick 503. Opening the breaker also tells `on_down` (the watchdog's `cut`), so that requests
already waiting on the region when one of them found it away fail at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from marketplace.errors import RegionUnavailable

PROBE_SECONDS = 0.25  # what a request's probe of a region may wait for it, within the request's budget


@dataclass(frozen=True)
class _Open:
    until: float
    reason: str
    prober: int | None = None  # the thread let through as the probe


class RegionHealth:
    def __init__(self, retry_after: float, probe_window: float = 5.0,
                 on_down: Callable[[str], None] = lambda _region: None):
        self.retry_after = retry_after
        self.on_down = on_down
        self.probe_window = probe_window  # how long one probe may take before another may go
        self._open: dict[str, _Open] = {}
        self._lock = threading.Lock()

    def check(self, region: str) -> bool:
        """Raise RegionUnavailable while the breaker is open; let one probe through after.
        True when the caller is that probe (its waits should then be short: PROBE_SECONDS)."""
        state = self._open.get(region)
        if state is None:
            return False
        now = time.monotonic()
        if state.prober == threading.get_ident():
            return True
        if now < state.until:
            raise RegionUnavailable(region, retry_after=math.ceil(state.until - now), reason=state.reason)
        with self._lock:
            current = self._open.get(region)
            if current is not state:  # someone else changed it meanwhile: decide again
                return self.check(region) if current is not None else False
            self._open[region] = _Open(now + self.probe_window, state.reason, prober=threading.get_ident())
        return True

    def mark_down(self, region: str, reason: str) -> None:
        with self._lock:
            self._open[region] = _Open(time.monotonic() + self.retry_after, reason)
        self.on_down(region)

    def mark_up(self, region: str) -> None:
        if region in self._open:
            with self._lock:
                self._open.pop(region, None)

    def is_open(self, region: str) -> bool:
        return region in self._open
