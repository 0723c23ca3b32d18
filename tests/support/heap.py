"""The test process's own heap, kept out of timing assertions.

By the time the suite reaches a timing test, its process holds every object that earlier tests
made and left (apps, engines, metadata: about 830,000 objects after tests/integration), and a
full collection of that heap stops every thread of the process, measured at up to 0.71 s.
A test whose clients, or whose in-process server, run in that process would charge the pause
to the service: a refusal answered in 0.76 s was seen as 1.5 s. Frozen objects are left out
of collections, so collecting once and freezing before the timed part takes the pause away;
garbage made during the test is still collected, and everything is given back after."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def steady() -> Iterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
