import pytest

from marketplace.regions import regionmap


@pytest.fixture(scope="module")
def regions():
    return regionmap.load()


def test_the_default_map_has_six_regions_and_thirty_member_states(regions):
    assert regions.region_codes == ("kin", "sdq", "sxm", "fdf", "bgi", "pos")
    assert len(regions.countries) == 30


@pytest.mark.parametrize(
    ("country", "region"),
    [("JM", "kin"), ("jm", "kin"), ("MQ", "fdf"), ("PR", "sdq"), ("BL", "sxm"), ("TT", "pos"), ("LC", "bgi")],
)
def test_member_states_are_homed_in_their_data_center(regions, country, region):
    assert regions.home_region(country).code == region


@pytest.mark.parametrize(("country", "region"), [("US", "sdq"), ("CA", "sdq"), ("FR", "fdf"), ("NL", "fdf"), ("GB", "kin"), ("JP", "kin")])
def test_buyers_outside_the_member_states_are_homed_by_the_data_file(regions, country, region):
    assert regions.home_region(country).code == region


@pytest.mark.parametrize("code", ["XX", "ZZ", "JAM", ""])
def test_an_unknown_country_has_no_home(regions, code):
    with pytest.raises(KeyError):
        regions.home_region(code)


def test_member_state_facts_come_from_the_file(regions):
    curacao = regions.member("CW")
    assert (curacao.currency, curacao.minor_units, curacao.eu) == ("XCG", 2, False)
    assert "pap" in curacao.languages
    assert regions.member("MQ").eu is True
    assert regions.member("US") is None


def test_an_inconsistent_map_is_refused_with_every_problem_named(tmp_path):
    bad = tmp_path / "regions.toml"
    bad.write_text(
        '[regions.kin]\nname = "Kingston"\ndata_center = "Kingston"\n'
        '[countries]\nJM = { name = "Jamaica", region = "nowhere", currency = "jmd", minor_units = 2, languages = ["en"] }\n'
        '[outside]\ndefault = "kin"\n'
    )
    with pytest.raises(regionmap.RegionMapError) as error:
        regionmap.load(bad)
    assert "JM: unknown region 'nowhere'" in str(error.value)
    assert "JM: currency 'jmd' is not an ISO 4217 code" in str(error.value)
