"""Drill finding: a line about one region was tagged with another (the last region worked on
before it), or with none, when the breaker refused the region before any unit of work opened."""

import io
import json
import logging

from marketplace import observability


def test_a_relay_line_about_a_region_the_breaker_refuses_is_tagged_with_that_region(platform, router):
    with router.unit_of_work("sdq", read_only=True):
        pass  # the relay worked on sdq last
    router.health.mark_down("kin", "unreachable")
    lines = io.StringIO()
    handler = observability.json_handler(lines)
    logging.getLogger().addHandler(handler)
    try:
        pruned = platform.relay().prune(["kin"])
    finally:
        logging.getLogger().removeHandler(handler)
        router.health.mark_up("kin")
    assert pruned.failed == ["kin"]
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    about_kin = [r for r in records if "region kin" in r["message"]]
    assert about_kin and all(r["region"] == "kin" for r in about_kin), records


def test_a_line_that_names_its_region_keeps_it_whatever_was_worked_on_last(router):
    with router.unit_of_work("sdq", read_only=True):
        pass
    lines = io.StringIO()
    handler = observability.json_handler(lines)
    logging.getLogger().addHandler(handler)
    try:
        logging.getLogger("marketplace.test").warning("outcome refused", extra={"region": "kin"})
    finally:
        logging.getLogger().removeHandler(handler)
    [record] = [json.loads(line) for line in lines.getvalue().splitlines() if "outcome refused" in line]
    assert record["region"] == "kin"
