"""The router pins every party to its home region and is the only way to a database."""

import pytest
from sqlalchemy import bindparam, select, text

from marketplace.errors import RegionUnavailable
from marketplace.merchants.models import Merchant
from marketplace.regions.models import DirectoryEntry
from marketplace.regions.router import DIRECTORY, WrongRegion
from marketplace.regions.uow import NestedUnitOfWork, fixed
from tests.support.merchants import open_account


def where_merchant_rows_are(router, merchant_id):
    """Scan all seven databases for any trace of the merchant."""
    found = []
    for name in router.database_names:
        with router.engine(name).connect() as connection:
            if name == DIRECTORY:
                hit = connection.execute(text("SELECT region FROM directory_entries WHERE party_id = :id"), {"id": merchant_id}).scalar()
                if hit:
                    found.append(("directory", hit))
            elif connection.execute(text("SELECT 1 FROM merchants WHERE id = :id"), {"id": merchant_id}).scalar():
                found.append((name, "merchant row"))
    return found


@pytest.mark.parametrize(("country", "region"), [("JM", "kin"), ("MQ", "fdf"), ("SR", "pos")])
def test_a_merchant_exists_only_in_its_home_region(router, country, region):
    merchant = open_account(router, "Pinned Goods", country)
    assert where_merchant_rows_are(router, merchant.id) == [(region, "merchant row"), ("directory", region)]


def test_the_router_refuses_to_write_a_row_into_another_regions_database(router):
    with pytest.raises(WrongRegion, match="region 'kin' written to the 'sdq' database"):
        with router.unit_of_work("sdq") as uow:
            uow.session.add(Merchant(id="mer_01M897S1J8D38N1K4DV6KSQSH1", region="kin", name="Misplaced", home_country="JM"))
            uow.commit()
    with router.unit_of_work("sdq", read_only=True) as uow:
        assert uow.session.scalars(select(Merchant)).all() == []


def test_shard_rows_cannot_enter_the_directory_and_the_other_way_round(router):
    with pytest.raises(WrongRegion), router.directory() as uow:
        uow.session.add(Merchant(id="mer_01M897S1J8D38N1K4DV6KSQSH1", region="kin", name="X", home_country="JM"))
        uow.commit()
    with pytest.raises(WrongRegion), router.unit_of_work("kin") as uow:
        uow.session.add(DirectoryEntry(party_id="mer_01M897S1J8D38N1K4DV6KSQSH1", kind="merchant", region="kin"))
        uow.commit()


def test_a_unit_of_work_rolls_back_what_it_did_not_commit(router):
    with router.unit_of_work("kin") as uow:
        uow.session.add(Merchant(id="mer_01M897S1J8D38N1K4DV6KSQSH1", region="kin", name="Uncommitted", home_country="JM"))
        uow.session.flush()
    with router.unit_of_work("kin", read_only=True) as uow:
        assert uow.session.get(Merchant, "mer_01M897S1J8D38N1K4DV6KSQSH1") is None


def test_a_unit_of_work_rolls_back_on_error(router):
    with pytest.raises(ZeroDivisionError), router.unit_of_work("kin") as uow:
        uow.session.add(Merchant(id="mer_01M897S1J8D38N1K4DV6KSQSH1", region="kin", name="Doomed", home_country="JM"))
        uow.session.flush()
        1 / 0
    with router.unit_of_work("kin", read_only=True) as uow:
        assert uow.session.get(Merchant, "mer_01M897S1J8D38N1K4DV6KSQSH1") is None


def test_a_unit_of_work_inside_another_on_the_same_database_is_refused(router):
    with router.unit_of_work("kin"):
        with pytest.raises(NestedUnitOfWork), router.unit_of_work("kin"):
            pass
        with router.unit_of_work("sdq"):  # another region is a separate transaction: allowed
            pass


def test_lookups_are_cached_and_a_relocation_invalidates_them(router):
    merchant = open_account(router, "Cached", "BB")
    router.locations.forget()
    assert router.region_of(merchant.id) == "bgi"
    router.health.mark_down(DIRECTORY, "test")  # the directory is now out of reach ...
    assert router.region_of(merchant.id) == "bgi"  # ... and the cache still answers
    router.locations.forget(merchant.id)
    with pytest.raises(RegionUnavailable, match="directory"):
        router.region_of(merchant.id)


def test_an_unknown_party_has_no_region(router):
    assert router.region_of("mer_01M897S1J8D38N1K4DV6KSQSH1") is None


def test_an_id_says_nothing_of_the_region_so_a_move_keeps_it(router):
    merchant = open_account(router, "Moving Co", "JM")
    with router.directory() as uow:  # what a relocation does to the directory
        uow.session.get(DirectoryEntry, merchant.id).region = "sdq"
        uow.commit()
    router.locations.forget(merchant.id)
    assert router.region_of(merchant.id) == "sdq"


def test_a_read_only_unit_of_work_refuses_to_write(router):
    from marketplace.regions.router import ReadOnlyViolation

    with pytest.raises(ReadOnlyViolation), router.unit_of_work("kin", read_only=True) as uow:
        uow.session.add(Merchant(id="mer_01M897S1J8D38N1K4DV6KSQSH1", region="kin", name="Sneaky", home_country="JM"))
        uow.session.flush()
    with router.unit_of_work("kin", read_only=True) as uow:
        assert uow.session.get(Merchant, "mer_01M897S1J8D38N1K4DV6KSQSH1") is None


def test_a_read_only_unit_of_work_reads_core_rows_and_gives_its_connection_back(router):
    merchant = open_account(router, "Core Reads", "JM")
    pool = router.engines_of("kin")[-1].pool  # on PostgreSQL the read-only engine's own pool
    before = pool.checkedout()
    with router.unit_of_work("kin", read_only=True) as uow:
        row = uow.read(select(Merchant.__table__).where(Merchant.__table__.c.id == merchant.id)).one()
        assert pool.checkedout() == before + 1
    assert (row.name, row.region) == ("Core Reads", "kin")
    assert pool.checkedout() == before


def test_read_only_work_runs_each_statement_on_its_own(router):
    # no transaction around them: two statements of one read-only unit of work see two clocks
    with router.unit_of_work("kin", read_only=True) as uow:
        first = uow.read(text("SELECT CURRENT_TIMESTAMP")).scalar()
        second = uow.read(text("SELECT CURRENT_TIMESTAMP")).scalar()
    with router.unit_of_work("kin") as uow:
        one = uow.session.execute(text("SELECT CURRENT_TIMESTAMP")).scalar()
        again = uow.session.execute(text("SELECT CURRENT_TIMESTAMP")).scalar()
    assert one == again  # a writing unit of work is one transaction
    if router.engine("kin").dialect.name == "postgresql":  # SQLite's clock has no transaction time
        assert first != second


def test_a_failed_read_leaves_its_pooled_connection_fit_for_the_next_one(router):
    # read-only connections go back to the pool unreset: nothing of a failed statement may linger
    merchant = open_account(router, "After Failure", "JM")
    for _ in range(3):
        with pytest.raises(Exception), router.unit_of_work("kin", read_only=True) as uow:
            uow.read(text("SELECT no_such_column FROM merchants"))
    with router.unit_of_work("kin", read_only=True) as uow:
        row = uow.read(select(Merchant.__table__).where(Merchant.__table__.c.id == merchant.id)).one()
    assert row.name == "After Failure"


def test_disposing_a_database_engine_drops_its_read_only_connections_too(router):
    open_account(router, "Dropped", "JM")  # reads through the read-only engine, leaving a pooled connection
    reader = router.engines_of("kin")[-1]
    with router.unit_of_work("kin", read_only=True) as uow:
        uow.read(text("SELECT 1")).scalar()
    assert reader.pool.checkedin() >= 1
    router.engine("kin").dispose()  # what an outage test does to drop connections the cut left for dead
    assert router.engines_of("kin")[-1].pool.checkedin() == 0


def test_a_fixed_statement_and_statements_made_from_it_each_read_their_own_rows(router):
    first, second = open_account(router, "Fixed One", "JM"), open_account(router, "Fixed Two", "JM")
    merchants = Merchant.__table__
    every = fixed(select(merchants.c.name).where(merchants.c.region == bindparam("region")).order_by(merchants.c.name))
    narrowed = every.where(merchants.c.id == second.id)  # a copy of the fixed statement, with more SQL
    with router.unit_of_work("kin", read_only=True) as uow:
        names = uow.read(every, {"region": "kin"}).scalars().all()
        only = uow.read(narrowed, {"region": "kin"}).scalars().all()
        again = uow.read(every, {"region": "kin"}).scalars().all()
    assert {"Fixed One", "Fixed Two"} <= set(names) and again == names
    assert only == ["Fixed Two"] and first.id != second.id


def test_a_writing_unit_of_work_reads_through_its_session_only(router):
    with pytest.raises(RuntimeError, match="read-only"), router.unit_of_work("kin") as uow:
        uow.read(select(Merchant.__table__))
