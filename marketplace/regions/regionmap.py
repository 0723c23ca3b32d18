"""The region map: which data center is home to which country, loaded from one data file.

The map is data so that a deployment can add a region or move a country without a code
change; everything that needs to know "where does this party live" asks a RegionMap.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pycountry

DEFAULT_REGIONS_FILE = Path(__file__).with_name("regions.toml")


class RegionMapError(ValueError):
    """The region data file is inconsistent; the service must not start on it."""


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    data_center: str


@dataclass(frozen=True, slots=True)
class Country:
    """A member state of the marketplace."""

    code: str
    name: str
    region: str
    currency: str
    minor_units: int
    languages: tuple[str, ...]
    eu: bool


@dataclass(frozen=True, slots=True)
class RegionMap:
    regions: dict[str, Region]
    countries: dict[str, Country]
    outside_groups: tuple[tuple[frozenset[str], str], ...]
    outside_default: str

    @property
    def region_codes(self) -> tuple[str, ...]:
        return tuple(self.regions)

    def member(self, country_code: str) -> Country | None:
        return self.countries.get(country_code.upper())

    def home_region(self, country_code: str) -> Region:
        """The home region of a party living in `country_code`, member state or not.

        Raises KeyError for a code that is not an ISO 3166-1 alpha-2 country.
        """
        code = country_code.upper()
        if code in self.countries:
            return self.regions[self.countries[code].region]
        if not is_iso_country(code):
            raise KeyError(country_code)
        for members, region in self.outside_groups:
            if code in members:
                return self.regions[region]
        return self.regions[self.outside_default]


def is_iso_country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code.upper()) is not None


def load(path: Path = DEFAULT_REGIONS_FILE) -> RegionMap:
    """Read and validate the region map; every inconsistency is reported at once."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegionMapError(f"cannot read region map {path}: {exc}") from exc
    problems: list[str] = []
    regions = {
        code: Region(code=code, name=spec["name"], data_center=spec["data_center"])
        for code, spec in raw.get("regions", {}).items()
    }
    if not regions:
        problems.append("no [regions] defined")
    countries = {}
    for code, spec in raw.get("countries", {}).items():
        problems += _country_problems(code, spec, regions)
        countries[code] = Country(
            code=code,
            name=spec.get("name", ""),
            region=spec.get("region", ""),
            currency=spec.get("currency", ""),
            minor_units=spec.get("minor_units", -1),
            languages=tuple(spec.get("languages", ())),
            eu=bool(spec.get("eu", False)),
        )
    outside = raw.get("outside", {})
    default = outside.get("default", "")
    if default not in regions:
        problems.append(f"outside.default names unknown region {default!r}")
    groups = []
    for group in outside.get("groups", []):
        if group.get("region") not in regions:
            problems.append(f"outside group {group.get('name')!r} names unknown region")
        bad = [c for c in group.get("countries", []) if c in countries or not is_iso_country(c)]
        if bad:
            problems.append(f"outside group {group.get('name')!r} lists member or unknown codes {bad}")
        groups.append((frozenset(group.get("countries", [])), group.get("region", "")))
    if problems:
        raise RegionMapError(f"region map {path} is invalid: " + "; ".join(problems))
    return RegionMap(regions, countries, tuple(groups), default)


def _country_problems(code: str, spec: dict, regions: dict[str, Region]) -> list[str]:
    problems = []
    if not is_iso_country(code):
        problems.append(f"{code}: not an ISO 3166-1 alpha-2 code")
    if spec.get("region") not in regions:
        problems.append(f"{code}: unknown region {spec.get('region')!r}")
    currency = spec.get("currency", "")
    if not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
        problems.append(f"{code}: currency {currency!r} is not an ISO 4217 code")
    if not isinstance(spec.get("minor_units"), int) or not 0 <= spec["minor_units"] <= 4:
        problems.append(f"{code}: minor_units must be an integer from 0 to 4")
    if not spec.get("languages"):
        problems.append(f"{code}: no languages")
    return problems
