"""Per-region circuit breaker: once a region's database has failed, requests for it fail at
once (503 with Retry-After) instead of each waiting for its own timeout.

After the pause one request, and only one, is let through as a probe while the others keep
failing fast; its success closes the breaker, its failure opens it for another pause. The
probe is the thread that was let through, not one call: a request that checks the region
first and then opens its unit of work there (a registration) is the probe in both, so a
worker that sees only writes for a recovered region still closes the breaker.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from marketplace.errors import RegionUnavailable


@dataclass(frozen=True)
class _Open:
    until: float
    reason: str
    prober: int | None = None  # the thread let through as the probe


class RegionHealth:
    def __init__(self, retry_after: float, probe_window: float = 5.0):
        self.retry_after = retry_after
        self.probe_window = probe_window  # how long one probe may take before another may go
        self._open: dict[str, _Open] = {}
        self._lock = threading.Lock()

    def check(self, region: str) -> None:
        """Raise RegionUnavailable while the breaker is open; let one probe through after."""
        state = self._open.get(region)
        if state is None:
            return
        now = time.monotonic()
        if state.prober == threading.get_ident():
            return
        if now < state.until:
            raise RegionUnavailable(region, retry_after=math.ceil(state.until - now), reason=state.reason)
        with self._lock:
            current = self._open.get(region)
            if current is not state:  # someone else changed it meanwhile: decide again
                return self.check(region) if current is not None else None
            self._open[region] = _Open(now + self.probe_window, state.reason, prober=threading.get_ident())

    def mark_down(self, region: str, reason: str) -> None:
        with self._lock:
            self._open[region] = _Open(time.monotonic() + self.retry_after, reason)

    def mark_up(self, region: str) -> None:
        if region in self._open:
            with self._lock:
                self._open.pop(region, None)

    def is_open(self, region: str) -> bool:
        return region in self._open
