"""A bounded load over all regions, through the public edges: a fixed request rate from a few
threads, each request a storefront page, a merchant's public record or a merchant API call (with
its owner's key) for a merchant of some region, entering at some data center's edge. Fixed rate,
not as fast as possible: a drill measures what users see at a normal load, and an outage that
slows the machine must not be hidden by the load backing off (a thread that falls behind starts
its next request at once, never more than one at a time).

The statistics the drill compares (`Figures`): p50 and p95 of the seconds of each request."""

from __future__ import annotations

import http.client
import itertools
import statistics
import threading
import time
from dataclasses import dataclass

KINDS = ("page", "record", "settings")


@dataclass(frozen=True)
class Sample:
    region: str  # the merchant's home region
    kind: str
    entry: str  # whose edge it entered at
    started: float  # time.monotonic()
    seconds: float
    status: int  # 0: no answer (connection refused, reset or timed out)
    headers: dict[str, str]
    body: bytes


def _call(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    except OSError:
        return 0, {}, b""
    finally:
        connection.close()


def _target(merchant: dict, kind: str) -> tuple[str, dict[str, str]]:
    if kind == "page":
        return f"/s/{merchant['handle']}", {"Accept": "text/html"}
    if kind == "record":
        return f"/api/v1/merchants/{merchant['id']}", {}
    return "/api/v1/merchant/settings", {"Authorization": f"Bearer {merchant['key']}"}


class Load:
    def __init__(self, edges: dict[str, int], merchants: dict[str, dict], *, threads: int = 4, rate: float = 16.0):
        self.edges, self.merchants = edges, merchants
        self.threads, self.interval = threads, threads / rate  # each thread's time between starts
        self._plan = itertools.cycle([(entry, region, kind) for kind in KINDS for region in merchants
                                      for entry in edges])
        self._plan_lock = threading.Lock()

    def run(self, seconds: float) -> list[Sample]:
        """Every request sent in the next `seconds`, once each has its answer."""
        samples: list[Sample] = []
        until = time.monotonic() + seconds
        workers = [threading.Thread(target=self._work, args=(until, samples), daemon=True) for _ in range(self.threads)]
        for number, worker in enumerate(workers):
            worker.start()
            time.sleep(self.interval / self.threads * (number < self.threads - 1))  # spread the starts
        for worker in workers:
            worker.join()
        return samples

    def _work(self, until: float, samples: list[Sample]) -> None:
        next_start = time.monotonic()
        while next_start < until:
            time.sleep(max(0.0, next_start - time.monotonic()))
            with self._plan_lock:
                entry, region, kind = next(self._plan)
            path, headers = _target(self.merchants[region], kind)
            started = time.monotonic()
            status, answer_headers, body = _call(self.edges[entry], path, headers)
            samples.append(Sample(region, kind, entry, started, time.monotonic() - started, status, answer_headers,
                                  body))
            next_start = max(next_start + self.interval, time.monotonic() - self.interval)


@dataclass(frozen=True)
class Figures:
    count: int
    p50: float
    p95: float

    @classmethod
    def of(cls, samples: list[Sample]) -> Figures:
        seconds = sorted(s.seconds for s in samples)
        if len(seconds) < 2:
            return cls(len(seconds), seconds[0] if seconds else 0.0, seconds[-1] if seconds else 0.0)
        cuts = statistics.quantiles(seconds, n=100, method="inclusive")
        return cls(len(seconds), cuts[49], cuts[94])


FLOOR = 0.020  # seconds: below ~10 ms, 20 % is scheduler noise on two shared cores, not a user-visible change


def within(before: float, during: float, *, ratio: float = 1.2) -> bool:
    """No more than 20 % slower than before, or than 20 ms slower for latencies that small."""
    return during <= max(before * ratio, before + FLOOR)
