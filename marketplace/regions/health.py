"""Per-region circuit breaker: once a region's database has failed, requests for it fail at
once (503 with Retry-After) instead of each waiting for its own connection timeout. After
the pause, the next request tries again; a success closes the breaker."""

from __future__ import annotations

import math
import threading
import time

from marketplace.errors import RegionUnavailable


class RegionHealth:
    def __init__(self, retry_after: float):
        self.retry_after = retry_after
        self._down_until: dict[str, float] = {}
        self._reason: dict[str, str] = {}
        self._lock = threading.Lock()

    def check(self, region: str) -> None:
        until = self._down_until.get(region)
        if until is None:
            return
        remaining = until - time.monotonic()
        if remaining > 0:
            raise RegionUnavailable(region, retry_after=math.ceil(remaining), reason=self._reason[region])

    def mark_down(self, region: str, reason: str) -> None:
        with self._lock:
            self._down_until[region] = time.monotonic() + self.retry_after
            self._reason[region] = reason

    def mark_up(self, region: str) -> None:
        if region in self._down_until:
            with self._lock:
                self._down_until.pop(region, None)
                self._reason.pop(region, None)

    def is_down(self, region: str) -> bool:
        until = self._down_until.get(region)
        return until is not None and until > time.monotonic()
