"""One budget for every database wait of a request, and a region found away ends every wait
on it (marketplace/regions/deadline.py, breaker.py). The waits here are stand-ins for a
statement: an Event the watchdog's cancel sets, as its cut wakes a waiting driver."""

import threading
import time

from marketplace.regions.breaker import PROBE_SECONDS, RegionHealth
from marketplace.regions.deadline import Watchdog, deadline_for, narrowed, widened


def _wait(watchdog: Watchdog, database: str, seconds: float) -> tuple[bool, float]:
    """Wait up to `seconds` as a statement would; (ended by the watchdog?, seconds waited)."""
    ended = threading.Event()
    started = time.monotonic()
    with watchdog.waiting(database, ended.set):
        ended.wait(seconds)
    return ended.is_set(), time.monotonic() - started


def test_the_second_wait_of_a_request_gets_only_what_the_first_left():
    watchdog = Watchdog(default_seconds=30)
    with deadline_for(0.5):
        first = _wait(watchdog, "kin", 0.3)
        second = _wait(watchdog, "kin", 2.0)
    assert first[0] is False  # answered within the budget
    assert second[0] is True and second[1] < 0.4, second  # about 0.2 s left, not 0.5 s of its own


def test_background_work_has_no_budget_each_wait_its_own_deadline():
    watchdog = Watchdog(default_seconds=0.3)
    assert [_wait(watchdog, "kin", 0.2)[0] for _ in range(3)] == [False, False, False]  # 0.6 s in all


def test_cutting_a_region_ends_its_waits_at_once_and_no_one_elses():
    watchdog = Watchdog(default_seconds=30)
    answers = {}
    threads = [threading.Thread(target=lambda db=db: answers.update({db: _wait(watchdog, db, 1.0)})) for db in ("kin", "sdq")]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    watchdog.cut("kin")
    for thread in threads:
        thread.join()
    assert answers["kin"][0] is True and answers["kin"][1] < 0.3, answers
    assert answers["sdq"][0] is False, answers  # waited its full second, untouched


def test_opening_a_breaker_says_so_and_its_probe_knows_it_is_one():
    opened = []
    health = RegionHealth(retry_after=0.05, on_down=opened.append)
    assert health.check("kin") is False  # closed: an ordinary request
    health.mark_down("kin", "no answer")
    assert opened == ["kin"]
    time.sleep(0.06)
    assert health.check("kin") is True  # the one probe after the pause


def test_a_probe_narrows_the_budget_and_spends_from_the_request():
    watchdog = Watchdog(default_seconds=30)
    with deadline_for(0.75):
        token = narrowed(PROBE_SECONDS)
        probe = _wait(watchdog, "kin", 2.0)
        widened(token)
        after = _wait(watchdog, "kin", 2.0)
    assert probe[0] is True and probe[1] < PROBE_SECONDS + 0.1, probe
    assert after[0] is True and after[1] < 0.75 - PROBE_SECONDS + 0.1, after
