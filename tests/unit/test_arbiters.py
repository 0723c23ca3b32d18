"""Every name has one arbiter region, which every process computes alike from the name and
the region map (docs/decisions/0004): spread evenly, and a region added to the map takes over
some names without moving any between the regions already there."""

from collections import Counter

import pytest

from marketplace import config
from marketplace.merchants.arbiters import arbiter_of
from marketplace.regions import regionmap

CODES = regionmap.load().region_codes
NAMES = [f"shop-{n}" for n in range(6000)]


def test_names_are_spread_over_every_region_and_the_choice_does_not_depend_on_the_maps_order():
    counts = Counter(arbiter_of("handle", name, CODES) for name in NAMES)
    assert set(counts) == set(CODES)
    assert min(counts.values()) > 0.8 * len(NAMES) / len(CODES)
    assert all(arbiter_of("handle", name, CODES) == arbiter_of("handle", name, tuple(reversed(CODES))) for name in NAMES)


def test_a_new_region_takes_over_about_its_share_and_moves_no_name_between_the_others():
    before = {name: arbiter_of("handle", name, CODES) for name in NAMES}
    after = {name: arbiter_of("handle", name, (*CODES, "gnd")) for name in NAMES}
    moved = [name for name in NAMES if before[name] != after[name]]
    assert all(after[name] == "gnd" for name in moved)
    assert 0.1 < len(moved) / len(NAMES) < 0.2  # about 1/7


def test_a_handle_and_an_email_digest_of_the_same_text_are_decided_independently():
    assert any(arbiter_of("handle", name, CODES) != arbiter_of("email", name, CODES) for name in NAMES[:20])


def test_directory_copies_need_a_region_and_a_broker():
    with pytest.raises(config.ConfigError, match="CPU_DIRECTORY_COPY=true needs CPU_REGION"):
        config.load({"CPU_DIRECTORY_COPY": "true", "CPU_REGION": "kin"}, environ={})
    settings = config.load({"CPU_DIRECTORY_COPY": "true", "CPU_REGION": "kin", "CPU_BROKER_URL": "nats://127.0.0.1:4222"},
                           environ={})
    assert settings.directory_copy and settings.arbiter_timeout == 1.0
