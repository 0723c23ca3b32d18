"""Tracking numbers issued by a region's database never repeat, however many issue at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from logistics import s10
from marketplace.errors import Conflict


def test_concurrent_issuers_never_repeat_a_number(router):
    def issue_many(_):
        numbers = []
        for _ in range(40):
            with router.unit_of_work("kin") as uow:
                numbers.append(s10.issue(uow.session, country="JM", service="registered_parcel"))
                uow.commit()
        return numbers

    with ThreadPoolExecutor(max_workers=6) as pool:
        issued = [n for batch in pool.map(issue_many, range(6)) for n in batch]
    assert len(issued) == len(set(issued)) == 240
    serials = sorted(s10.parse(n).serial for n in issued)
    first = s10.range_for("JM", "kin").first
    assert serials == list(range(first, first + 240))  # none skipped either, since every one committed


def test_a_region_issues_only_from_its_own_ranges(router):
    with router.unit_of_work("pos") as uow:
        number = s10.issue(uow.session, country="TT", service="ems")
        uow.commit()
    assert number.startswith("EE") and number.endswith("TT") and s10.region_of(number) == "pos"
    with router.unit_of_work("pos") as uow:
        with pytest.raises(Conflict, match="region pos"):  # Jamaica's range is issued in kin
            s10.issue(uow.session, country="JM", service="ems")
