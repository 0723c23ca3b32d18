"""Which region decides whether a marketplace-wide name (a storefront handle, a sign-in email's
digest) is free, and how another region asks it (docs/decisions/0004).

With a directory copy per region there is no one writable place left to hold a name, so each
name has an arbiter region, chosen from the name alone: rendezvous hashing over the region
map's codes (the region whose sha256("<region>:<kind>:<name>") is highest). Every process
computes the same answer without asking anyone; a region added to the map takes over about
1/n of the names and moves no other name between the existing regions. The arbiter's own
copy of the directory holds the name's claim; a region that needs the name asks it over the
broker (marketplace.events.requests) and waits CPU_ARBITER_TIMEOUT seconds at most. No answer
is a 503 naming the arbiter, with Retry-After: the sign-up can be tried again, and names whose
arbiters answer are unaffected.

Without CPU_DIRECTORY_COPY (the embedded default, or region processes sharing one directory)
every process's directory is the one directory: it is every name's arbiter, and nothing is asked.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from typing import Any

from marketplace.errors import RegionUnavailable
from marketplace.events.requests import Asker, NoAnswer
from marketplace.regions.deadline import deadline_for
from marketplace.regions.router import Router

log = logging.getLogger(__name__)
TOPIC_PREFIX = "names"


class ArbiterUnavailable(RegionUnavailable):
    """A 503 naming the arbiter of a name, which did not answer. `heard`: it may have received
    the question (a timeout) rather than certainly not (no responder, no broker)."""

    def __init__(self, region: str, *, retry_after: int, heard: bool = True):
        super().__init__(region, retry_after=retry_after, reason="it decides whether this name is free and did not answer")
        self.heard = heard


def arbiter_of(kind: str, name: str, region_codes: tuple[str, ...]) -> str:
    """The region that arbitrates `name` of `kind` (rendezvous hashing: stable, even, and a
    new region moves only the names it wins)."""
    return max(region_codes, key=lambda code: hashlib.sha256(f"{code}:{kind}:{name}".encode()).digest())


def decides_here(router: Router, kind: str, name: str) -> bool:
    """Whether this process's directory holds the claims of `name`: always with one shared
    directory, and in a region with its own copy, for the names it arbitrates."""
    return not router.settings.directory_copy or arbiter_of(kind, name, router.regions.region_codes) == router.region


def ask(router: Router, region: str, question: str, body: dict[str, Any]) -> dict[str, Any]:
    """The arbiter `region`'s answer, or RegionUnavailable naming it (503, Retry-After)."""
    try:
        answer = _asker(router).ask(region, f"{TOPIC_PREFIX}.{question}", body, timeout=router.settings.arbiter_timeout)
    except NoAnswer as exc:
        log.warning("name arbiter %s did not answer %s: %s", region, question, exc, extra={"region": region})
        raise ArbiterUnavailable(region, retry_after=router.settings.region_retry_after, heard=exc.heard) from None
    if answer.get("unavailable") or answer.get("refused"):  # its directory is down, or its region map differs
        log.warning("name arbiter %s could not answer %s: %s", region, question, answer, extra={"region": region})
        raise RegionUnavailable(region, retry_after=router.settings.region_retry_after,
                                reason="it decides whether this name is free and could not answer")
    return answer


def answer(router: Router, question: str, handler) -> None:
    """Answer `question` for this process's region (one of the region's queue group). Each
    answer's statements run under the request deadline, as the asker's request waits for it."""
    def answering(body: dict[str, Any]) -> dict[str, Any]:
        with deadline_for(router.settings.db_request_deadline):
            return handler(body)

    _asker(router).answer(router.region, f"{TOPIC_PREFIX}.{question}", answering)


def close(router: Router) -> None:
    with _lock:
        asker = _askers.pop(router, None)
    if asker is not None:
        asker.close()


_askers: weakref.WeakKeyDictionary[Router, Asker] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _asker(router: Router) -> Asker:
    with _lock:
        asker = _askers.get(router)
        if asker is None:
            asker = _askers[router] = Asker(router.settings.broker_url, name=f"cpu-names:{router.region}")
        return asker
