import time
from datetime import UTC, datetime, timedelta

import pytest

from marketplace.regions.ids import first_id_since, is_id, new_id


def test_ids_carry_their_type_and_are_unique():
    ids = {new_id("mer") for _ in range(10_000)}
    assert len(ids) == 10_000
    assert all(i.startswith("mer_") and is_id(i, "mer") for i in ids)


def test_ids_sort_by_creation_time():
    earlier = new_id("buy")
    time.sleep(0.002)
    assert new_id("buy") > earlier


def test_an_unknown_prefix_is_a_bug():
    with pytest.raises(ValueError):
        new_id("xyz")


@pytest.mark.parametrize("value", ["mer_nope", "buy_01M897S1J8D38N1K4DV6KSQSH1", "mer_01m897s1j8d38n1k4dv6ksqsh1", "", "mer_"])
def test_is_id_rejects_other_shapes_and_types(value):
    assert not is_id(value, "mer")


def test_first_id_since_separates_ids_made_before_a_moment_from_those_made_after():
    before = new_id("evt")
    time.sleep(0.002)
    moment = datetime.now(UTC)
    time.sleep(0.002)
    after = new_id("evt")
    assert before < first_id_since("evt", moment) <= after
    assert first_id_since("evt", moment - timedelta(days=1)) < before
