"""Group commit (payments/stripe/grouping.py): requests arriving together share one write, each
gets its own answer only after the write holding it, and a failed write fails each of them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from payments.stripe.grouping import GroupCommit


def test_concurrent_submissions_share_writes_and_each_gets_its_own_answer():
    batches, written = [], set()

    def write(items):
        time.sleep(0.01)  # a commit's wait, during which others queue
        batches.append(list(items))
        written.update(items)
        return [item * 10 for item in items]

    group = GroupCommit(write, most=7)

    def submit(n):
        answer = group.submit(n)
        assert n in written  # never answered before its batch was written
        return answer

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(submit, range(200)))
    assert answers == [n * 10 for n in range(200)]
    assert sorted(n for batch in batches for n in batch) == list(range(200))  # each written once
    assert len(batches) < 100 and max(len(b) for b in batches) <= 7


def test_a_failed_write_fails_every_submission_of_its_batch_and_the_next_batch_goes_on():
    gate, calls = threading.Event(), []

    def write(items):
        calls.append(list(items))
        if len(calls) == 1:
            gate.wait(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return list(items)

    group = GroupCommit(write)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(group.submit, "first")
        time.sleep(0.05)
        later = [pool.submit(group.submit, n) for n in ("a", "b", "c")]
        time.sleep(0.05)
        gate.set()
        assert first.result() == "first"
        for future in later:
            with pytest.raises(RuntimeError, match="went away"):
                future.result()
    assert sorted(calls[1]) == ["a", "b", "c"]  # queued behind the first write, written together
    assert group.submit("after") == "after"  # the failure left nobody holding the writing
