"""Group commit: requests that arrive together share one transaction.

A webhook's cost is almost all database round trips (begin, look, insert, insert, commit),
and under load they queue for the same disk flush. So each request puts its event in a queue
and waits; whichever request finds nobody writing becomes the writer, writes everything queued
(its own among it) in one transaction, wakes the others with their answers, and hands the
writing on to the first request that queued meanwhile. Nobody is answered before the
transaction holding its event has committed, so a 200 still means "recorded". No thread of its
own: gunicorn forks after import, and a request thread is always there to do the work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class _Slot:
    __slots__ = ("item", "woken", "finished", "result", "error")

    def __init__(self, item: Any) -> None:
        self.item, self.woken, self.finished, self.result, self.error = item, threading.Event(), False, None, None

    def answer(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    def __init__(self, write: Callable[[list[Any]], list[Any]], *, most: int = 500) -> None:
        self._write, self._most = write, most  # write(items) -> one result per item, in order
        self._lock = threading.Lock()
        self._queue: list[_Slot] = []
        self._writing = False

    def submit(self, item: Any) -> Any:
        """`write([item, ...])`'s result for `item`, once the batch holding it is written."""
        slot = _Slot(item)
        with self._lock:
            self._queue.append(slot)
            leading = not self._writing
            self._writing = True
        while True:
            if not leading:
                slot.woken.wait()
                if slot.finished:
                    return slot.answer()
                slot.woken.clear()  # handed the writing: the next wake is this slot's answer
            self._write_queued()
            if slot.finished:
                return slot.answer()
            leading = False  # queued behind a full batch: wait for the next writer

    def _write_queued(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[:self._most], self._queue[self._most:]
        try:
            for slot, result in zip(batch, self._write([slot.item for slot in batch]), strict=True):
                slot.result = result
        except Exception as exc:  # every request of the batch answers the failure (Stripe retries)
            for slot in batch:
                slot.error = exc
        for slot in batch:
            slot.finished = True
            slot.woken.set()
        with self._lock:
            if self._queue:
                self._queue[0].woken.set()  # not finished: it writes the next batch
            else:
                self._writing = False
