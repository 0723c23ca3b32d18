"""Made-up ids cost the directory little: misses are remembered briefly, and strings that
are not ids never reach it."""

from marketplace.regions.router import DIRECTORY
from tests.support.merchants import open_account
from tests.support.statements import sent_through

MADE_UP = "mer_01M897S1J8D38N1K4DV6KSQSH1"


def directory_statements(router):
    return sent_through(router.engines_of(DIRECTORY))


def test_a_made_up_id_asked_again_and_again_reaches_the_directory_once(router):
    with directory_statements(router) as seen:
        for _ in range(50):
            assert router.region_of(MADE_UP) is None
    assert len(seen) == 1


def test_strings_that_are_not_ids_never_reach_the_directory(router):
    with directory_statements(router) as seen:
        for junk in ("", "mer_", "x" * 5000, "mer_01M897S1J8D38N1K4DV6KSQSH1'--", "../../etc/passwd"):
            assert router.region_of(junk) is None
    assert seen == []


def test_a_remembered_miss_expires_so_a_party_registered_elsewhere_is_found(router):
    router.locations.miss_ttl = 0.0  # as if the TTL had passed
    try:
        merchant = open_account(router, "Late Co", "JM")
        router.locations.forget(merchant.id)
        router.locations.put_missing(merchant.id)  # another process registered it after our miss
        assert router.region_of(merchant.id) == "kin"
    finally:
        router.locations.miss_ttl = 5.0


def test_a_party_assigned_in_this_process_is_found_at_once_even_after_a_miss(router):
    assert router.region_of(MADE_UP) is None
    router.assign(MADE_UP, kind="merchant", region="sdq")
    assert router.region_of(MADE_UP) == "sdq"


def test_the_memory_of_misses_is_bounded(router):
    cache = router.locations
    for n in range(cache.miss_maxsize + 50):
        cache.put_missing(f"mer_{n:026d}")
    assert len(cache._misses) == cache.miss_maxsize
