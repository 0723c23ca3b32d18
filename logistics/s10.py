"""UPU S10 item identifiers: the tracking number on every label, and which region holds it.

Shape: two letters of service indicator, eight serial digits, one check digit, the issuing
operator's ISO country code (`CP123456785JM`). The check digit weighs the serial by 8 6 4 2 3
5 9 7 and takes 11 - (sum mod 11), with 10 written 0 and 11 written 5: it catches every
single wrong digit and every swap of two neighbours (tests/unit/test_s10.py shows both).

Serials come from ranges each operator owns (postal_operators.toml), each range issued by one
region's database (`issue`), so a number alone says where its shipment lives (`region_of`)
and two regions can never mint the same one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from marketplace.errors import Conflict

OPERATORS_FILE = Path(__file__).with_name("postal_operators.toml")
WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
SERVICE_CLASSES = frozenset("CEHLRUV")  # first letter of the service indicator, by UPU class
_SHAPE = re.compile(r"^(?P<service>[A-Z]{2})(?P<serial>\d{8})(?P<check>\d)(?P<country>[A-Z]{2})$")


class InvalidS10(ValueError):
    """Not a tracking number we can read; the message says what is wrong with it."""


@dataclass(frozen=True)
class Range:
    operator: str
    country: str
    first: int
    last: int
    region: str

    @property
    def name(self) -> str:
        return f"{self.operator}:{self.first}"


@dataclass(frozen=True)
class S10:
    service: str
    serial: int
    country: str

    def __str__(self) -> str:
        serial = f"{self.serial:08d}"
        return f"{self.service}{serial}{check_digit(serial)}{self.country}"


def check_digit(serial: str) -> int:
    """The S10 check digit of an eight-digit serial."""
    if len(serial) != 8 or not serial.isdigit():
        raise InvalidS10(f"A serial is eight digits, not {serial!r}.")
    c = 11 - sum(int(d) * w for d, w in zip(serial, WEIGHTS)) % 11
    return {10: 0, 11: 5}.get(c, c)


def normalise(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


def parse(text: str) -> S10:
    """Read a tracking number (spaces and case forgiven), or say why it is not one."""
    value = normalise(text)
    if len(value) != 13:
        raise InvalidS10(f"A tracking number has 13 characters; {value!r} has {len(value)}.")
    match = _SHAPE.fullmatch(value)
    if match is None:
        raise InvalidS10(f"{value!r} is not two letters, nine digits and two letters.")
    if match["service"][0] not in SERVICE_CLASSES:
        raise InvalidS10(f"{value!r}: {match['service'][0]!r} is not a service class letter.")
    if int(match["check"]) != check_digit(match["serial"]):
        raise InvalidS10(f"{value!r}: the check digit does not match the serial.")
    if match["country"].lower() not in operators():
        raise InvalidS10(f"{value!r}: {match['country']} is not a member operator's country.")
    return S10(match["service"], int(match["serial"]), match["country"])


@cache
def _data() -> dict:
    return tomllib.loads(OPERATORS_FILE.read_text(encoding="utf-8"))


def operators() -> dict[str, dict]:
    return _data()["operators"]


def service_indicator(service: str) -> str:
    return _data()["services"][service]


@cache
def ranges() -> tuple[Range, ...]:
    return tuple(Range(operator=op, country=spec["country"], first=r["first"], last=r["last"], region=r["region"])
                 for op, spec in operators().items() for r in spec["ranges"])


def region_of(number: str) -> str | None:
    """The region holding the shipment of a (valid) tracking number; None when no range has it."""
    s10 = parse(number)
    return next((r.region for r in ranges() if r.country == s10.country and r.first <= s10.serial <= r.last), None)


def range_for(country: str, region: str) -> Range:
    """The range a region issues from for parcels posted in `country`."""
    for r in ranges():
        if r.country == country and r.region == region:
            return r
    raise Conflict(f"No S10 range of the {country} operator is issued in region {region}.")


def issue(session: Session, *, country: str, service: str) -> str:
    """A new tracking number from this region's range for `country`, never issued before.

    The counter row is created on first use and advanced with one UPDATE ... RETURNING, which
    PostgreSQL's row lock makes atomic between concurrent issuers (and SQLite's single writer).
    The number commits with the shipment that carries it: a rolled-back shipment gives its
    number back, unprinted."""
    from logistics.models import S10Counter

    chosen = range_for(country, session.info["database"])
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(S10Counter).values(range_name=chosen.name, next_serial=chosen.first)
                    .on_conflict_do_nothing())
    serial = session.scalar(update(S10Counter).where(S10Counter.range_name == chosen.name)
                            .values(next_serial=S10Counter.next_serial + 1).returning(S10Counter.next_serial - 1))
    if serial > chosen.last:
        raise Conflict(f"The S10 range {chosen.name} is used up; add a new range for {country} in region "
                       f"{chosen.region}.")
    return str(S10(service_indicator(service), serial, country))
