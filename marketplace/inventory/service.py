"""Stock use cases: a merchant's counts, and the reservations a checkout holds.

Why conditional UPDATEs and not read-then-write: two checkouts that both read "1 left" would
both write "0 left". Here each change is one statement whose WHERE re-checks the rule on the
row's latest version (PostgreSQL re-evaluates it after waiting for a concurrent writer's lock;
SQLite has one writer at a time), so the database decides who got the last unit.

What it promises:
- `reserve` holds every line or none (a savepoint: a shortage leaves the caller's
  transaction as it was, so it can record the refusal and commit), and says which lines are
  short and how many are available;
- `reserve`, `commit` and `release` act once per reservation id, whatever the retries;
- a sale (`commit`) takes units off `on_hand` exactly once; a merchant's count either names
  the revision it read (If-Match) or replaces the count, and never goes below what checkouts hold;
- a reservation past its `expires_at` (the database's clock) is released by `sweep`, run by
  every relay and by `cpu inventory sweep`;
- `give_back` (a cancelled order) returns a reservation's units once: a held one is released,
  a sold one goes back on the shelf (`on_hand`), whoever cancels and however often.

Locks are taken in one order (stock rows by variant and location, then products), so two
reservations of the same variants wait for each other rather than deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.bounds import BOUNDS
from marketplace.catalog.models import Variant
from marketplace.errors import InvalidInput, NotFound
from marketplace.inventory.errors import (
    BadLines, BelowReserved, OutOfStock, ReservationMismatch, ReservationNotFound, ReservationSettled, Shortage, StaleStock,
)
from marketplace.inventory.models import (
    COMMITTED, EXPIRED, HELD, RELEASED, RESTOCKED, Reservation, ReservationLine, StockLevel,
)
from marketplace.merchants.auth import Principal
from marketplace.regions.base import database_now
from marketplace.regions.ids import is_id
from marketplace.regions.router import Router

SWEEP_BATCH = 200
MAX_LINES = 500
LOCATION_MAX = 40


@dataclass(frozen=True)
class Line:
    variant_id: str
    quantity: int


# A merchant's counts ------------------------------------------------------------------------

def write_counts(session: Session, variant, counts: Mapping[str, int]) -> bool:
    """Make the variant's stock on hand `counts` (location -> units), in the open unit of work:
    what a product body's `stock` means (API, dashboard, import, demo). A location whose count
    is unchanged is not touched; one left out is removed; none goes below what checkouts hold.
    Returns whether anything changed."""
    # No autoflush: the stock rows are locked before the product's own UPDATE is flushed, the
    # order a sale takes them in (stock, then product), so a PUT and a sale never deadlock.
    with session.no_autoflush:
        return _write_counts(session, variant, counts)


def _write_counts(session: Session, variant, counts: Mapping[str, int]) -> bool:
    if not inspect(variant).persistent:  # a new variant: its rows go in with it
        # Added to the session, not appended to the collection: the same INSERTs after the
        # variant's, without the collection's events (a fifth of a large import's time).
        levels = [StockLevel(variant_id=variant.id, location=location, region=variant.region,
                             merchant_id=variant.merchant_id, on_hand=units, reserved=0, revision=1)
                  for location, units in sorted(counts.items())]
        session.add_all(levels)
        set_committed_value(variant, "stock_levels", levels)
        return bool(counts)
    stored = {level.location: level for level in variant.stock_levels}
    if {k: v.on_hand for k, v in stored.items()} == dict(counts):
        return False
    now = database_now(session)
    for location in sorted(set(stored) | set(counts)):
        if location not in counts:
            gone = session.execute(delete(StockLevel).where(
                StockLevel.variant_id == variant.id, StockLevel.location == location, StockLevel.reserved == 0))
            if gone.rowcount != 1:
                raise BelowReserved(variant.id, location, _reserved(session, variant.id, location))
        elif location not in stored:
            session.execute(insert(StockLevel).values(variant_id=variant.id, location=location, region=variant.region,
                                                      merchant_id=variant.merchant_id, on_hand=counts[location],
                                                      reserved=0, revision=1, updated_at=now))
        elif stored[location].on_hand != counts[location]:
            _set_on_hand(session, variant.id, location, counts[location], expected_revision=None, now=now)
    _reload_levels(session, variant)
    return True


def stock_of(*, router: Router, principal: Principal, variant_id: str) -> list[StockLevel]:
    """The merchant's stock of one variant, location by location."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        _own_variant(uow.session, principal, variant_id)
        return list(uow.session.scalars(select(StockLevel).where(StockLevel.variant_id == variant_id)
                                        .order_by(StockLevel.location)))


def set_on_hand(*, router: Router, principal: Principal, variant_id: str, location: str, on_hand: int,
                expected_revision: int | None = None) -> StockLevel:
    """Count one location: `on_hand` units. With `expected_revision` (If-Match) a count made
    from a read that a sale or another count has since changed is StaleStock, never applied."""
    if not 1 <= len(location) <= LOCATION_MAX:
        raise InvalidInput("A stock location is named by 1 to 40 characters.", errors={"location": ["1 to 40 characters"]})
    with router.unit_of_work(principal.region) as uow:
        variant = _own_variant(uow.session, principal, variant_id)
        now = database_now(uow.session)
        exists = uow.session.scalar(select(StockLevel.revision).where(
            StockLevel.variant_id == variant_id, StockLevel.location == location))
        if exists is None:
            if expected_revision is not None:
                raise StaleStock(variant_id, location, None)
            uow.session.execute(insert(StockLevel).values(
                variant_id=variant_id, location=location, region=variant.region, merchant_id=variant.merchant_id,
                on_hand=on_hand, reserved=0, revision=1, updated_at=now))
        else:
            _set_on_hand(uow.session, variant_id, location, on_hand, expected_revision=expected_revision, now=now)
        _products_changed(uow.session, [variant_id], announce=True)
        uow.commit()
        return uow.session.get(StockLevel, (variant_id, location), populate_existing=True)


def _set_on_hand(session: Session, variant_id: str, location: str, on_hand: int, *, expected_revision: int | None, now) -> None:
    where = [StockLevel.variant_id == variant_id, StockLevel.location == location, StockLevel.reserved <= on_hand]
    if expected_revision is not None:
        where.append(StockLevel.revision == expected_revision)
    done = session.execute(update(StockLevel).where(*where).values(
        on_hand=on_hand, revision=StockLevel.revision + 1, updated_at=now))
    if done.rowcount == 1:
        return
    current = session.execute(select(StockLevel.revision, StockLevel.reserved).where(
        StockLevel.variant_id == variant_id, StockLevel.location == location)).one_or_none()
    if current is None or (expected_revision is not None and current.revision != expected_revision):
        raise StaleStock(variant_id, location, current.revision if current else None)
    raise BelowReserved(variant_id, location, current.reserved)


def _reserved(session: Session, variant_id: str, location: str) -> int:
    return session.scalar(select(StockLevel.reserved).where(
        StockLevel.variant_id == variant_id, StockLevel.location == location)) or 0


def _reload_levels(session: Session, variant) -> None:
    levels = session.scalars(select(StockLevel).where(StockLevel.variant_id == variant.id)
                             .order_by(StockLevel.location).execution_options(populate_existing=True)).all()
    set_committed_value(variant, "stock_levels", list(levels))


def _own_variant(session: Session, principal: Principal, variant_id: str) -> Variant:
    variant = session.get(Variant, variant_id) if is_id(variant_id, "var") else None
    if variant is None or variant.merchant_id != principal.merchant_id:
        raise NotFound(f"No variant {variant_id}.")
    return variant


# Reservations -------------------------------------------------------------------------------

def reserve(session: Session, *, reservation_id: str, merchant_id: str, lines: Sequence[Line | tuple[str, int]],
            expires_in: timedelta) -> Reservation:
    """Hold `lines` (variant, quantity) of one merchant for `expires_in`, in the open unit of
    work on the merchant's shard: every line or none (OutOfStock names the short ones). A line
    is taken from the locations in name order, split over them when one has too few. Reserving
    an id again returns the first reservation (whatever became of it since); the same id with
    other lines is ReservationMismatch."""
    wanted = _checked(lines, reservation_id)
    now = database_now(session)
    with session.begin_nested():  # a shortage rolls back to here: the caller's other work stands
        made = _insert_once(session, id=reservation_id, merchant_id=merchant_id,
                            region=session.info["database"], expires_at=now + expires_in, created_at=now)
        if made is None:
            existing = session.get(Reservation, reservation_id, populate_existing=True)
            if existing.merchant_id != merchant_id or _held_lines(session, reservation_id) != _totals(wanted):
                raise ReservationMismatch(reservation_id)
            return existing
        shortages, taken, emptied = [], [], []
        for variant_id, quantity in sorted(_totals(wanted).items()):
            got = _take(session, merchant_id, variant_id, quantity, taken, emptied)
            if got < quantity:
                shortages.append(Shortage(line=_first_index(wanted, variant_id), variant_id=variant_id,
                                          requested=quantity, available=_available(session, merchant_id, variant_id) + got))
        if shortages:
            raise OutOfStock(sorted(shortages, key=lambda s: s.line))
        session.execute(insert(ReservationLine), [
            {"reservation_id": reservation_id, "variant_id": v, "location": loc, "quantity": q} for v, loc, q in taken])
        _products_changed(session, emptied, announce=True)
    return made


def commit(session: Session, *, reservation_id: str) -> Reservation:
    """Turn a held reservation into a sale: its units leave `on_hand` and `reserved` together,
    once; committing it again is a no-op. A reservation released, or past its time, is
    ReservationSettled: its units may be someone else's by now."""
    now = database_now(session)
    won = session.execute(update(Reservation).where(
        Reservation.id == reservation_id, Reservation.status == HELD, Reservation.expires_at > now,
    ).values(status=COMMITTED, settled_at=now))
    if won.rowcount != 1:
        found = _settled(session, reservation_id)
        if found.status == COMMITTED:
            return found
        raise ReservationSettled(reservation_id, EXPIRED if found.status == HELD else found.status, "sold")
    lines = _lines(session, reservation_id)
    for line in lines:
        session.execute(update(StockLevel).where(
            StockLevel.variant_id == line.variant_id, StockLevel.location == line.location,
        ).values(on_hand=StockLevel.on_hand - line.quantity, reserved=StockLevel.reserved - line.quantity,
                 revision=StockLevel.revision + 1, updated_at=now))
    _products_changed(session, [line.variant_id for line in lines], announce=False)
    return session.get(Reservation, reservation_id, populate_existing=True)


def release(session: Session, *, reservation_id: str) -> Reservation | None:
    """Give a held reservation's units back (a checkout that failed or was abandoned). Releasing
    it again, or one that expired, is a no-op; one never made is None (a compensation may run
    for a reserve that never happened); a sold one is ReservationSettled."""
    found = _settle(session, reservation_id, RELEASED)
    if found is None or found.status in (RELEASED, EXPIRED):
        return found
    raise ReservationSettled(reservation_id, found.status, "released")


def give_back(session: Session, *, reservation_id: str) -> Reservation | None:
    """The units of a cancelled order back in stock, once: a held reservation is released, a
    sold one is restocked (its units return to `on_hand` where they were taken, a location
    counted away since is made again). Giving back again, or a reservation that expired, is a
    no-op; one never made is None. Two cancels at once: one conditional UPDATE wins, the
    other finds the reservation settled."""
    found = _settle(session, reservation_id, RELEASED)
    if found is None or found.status != COMMITTED:
        return found
    now = database_now(session)
    won = session.execute(update(Reservation).where(Reservation.id == reservation_id, Reservation.status == COMMITTED)
                          .values(status=RESTOCKED, settled_at=now))
    if won.rowcount == 1:
        lines = _lines(session, reservation_id)
        for line in lines:
            _put_back(session, found, line, now)
        _products_changed(session, [line.variant_id for line in lines], announce=True)
    return session.get(Reservation, reservation_id, populate_existing=True)


def _put_back(session: Session, reservation: Reservation, line: ReservationLine, now) -> None:
    back = session.execute(update(StockLevel).where(
        StockLevel.variant_id == line.variant_id, StockLevel.location == line.location,
    ).values(on_hand=StockLevel.on_hand + line.quantity, revision=StockLevel.revision + 1, updated_at=now))
    if back.rowcount == 0 and session.get(Variant, line.variant_id) is not None:  # a deleted variant takes nothing back
        session.execute(insert(StockLevel).values(
            variant_id=line.variant_id, location=line.location, region=reservation.region,
            merchant_id=reservation.merchant_id, on_hand=line.quantity, reserved=0, revision=1, updated_at=now))


def sweep(router: Router, region: str, *, batch: int = SWEEP_BATCH) -> int:
    """Release the region's reservations past their time (the database's clock); how many.
    Relays run it every few seconds; several may run at once (each reservation is settled by
    one conditional UPDATE, whoever comes first). One transaction per reservation, so its
    stock rows are locked in the one order every other writer uses."""
    released = 0
    while True:
        with router.unit_of_work(region, read_only=True) as uow:
            now = database_now(uow.session)
            ids = list(uow.session.scalars(select(Reservation.id).where(
                Reservation.status == HELD, Reservation.expires_at <= now).order_by(Reservation.expires_at).limit(batch)))
        for reservation_id in ids:
            with router.unit_of_work(region) as uow:
                found = _settle(uow.session, reservation_id, EXPIRED)
                uow.commit()
            released += found is not None and found.status == EXPIRED
        if len(ids) < batch:
            return released


def get_reservation(session: Session, reservation_id: str) -> Reservation | None:
    return session.get(Reservation, reservation_id)


def reservation_lines(session: Session, reservation_id: str) -> list[ReservationLine]:
    return _lines(session, reservation_id)


# Helpers ------------------------------------------------------------------------------------

def _checked(lines: Sequence[Line | tuple[str, int]], reservation_id: str) -> list[Line]:
    problems: dict[str, list[str]] = {}
    if not reservation_id or len(reservation_id) > 80:
        problems["reservation_id"] = ["1 to 80 characters"]
    wanted = [line if isinstance(line, Line) else Line(*line) for line in lines]
    if not wanted or len(wanted) > MAX_LINES:
        problems["lines"] = [f"1 to {MAX_LINES} lines"]
    for n, line in enumerate(wanted):
        if not isinstance(line.quantity, int) or not 1 <= line.quantity <= BOUNDS.max_quantity:
            problems[f"lines.{n}"] = [f"quantity from 1 to {BOUNDS.max_quantity:,}"]
    if problems:
        raise BadLines(problems)
    return wanted


def _totals(lines: Iterable[Line]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.variant_id] += line.quantity
    return dict(totals)


def _first_index(lines: list[Line], variant_id: str) -> int:
    return next(n for n, line in enumerate(lines) if line.variant_id == variant_id)


def _insert_once(session: Session, **values) -> Reservation | None:
    """Insert the reservation unless its id exists: None when it does. A concurrent insert of
    the same id waits for the first to commit, then finds it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Reservation).values(status=HELD, **values).on_conflict_do_nothing()
    return session.scalars(statement.returning(Reservation)).first()


def _take(session: Session, merchant_id: str, variant_id: str, quantity: int, taken: list, emptied: list) -> int:
    """Reserve up to `quantity` units of the variant over its locations; how many were had."""
    got = 0
    levels = session.execute(select(StockLevel.location, StockLevel.on_hand - StockLevel.reserved).where(
        StockLevel.variant_id == variant_id, StockLevel.merchant_id == merchant_id).order_by(StockLevel.location)).all()
    for location, seen in levels:
        while got < quantity and seen > 0:
            want = min(quantity - got, seen)
            row = session.execute(update(StockLevel).where(
                StockLevel.variant_id == variant_id, StockLevel.location == location,
                StockLevel.on_hand - StockLevel.reserved >= want,
            ).values(reserved=StockLevel.reserved + want).returning(StockLevel.on_hand - StockLevel.reserved)).one_or_none()
            if row is None:  # someone took some meanwhile: look again at what is left here
                seen = session.scalar(select(StockLevel.on_hand - StockLevel.reserved).where(
                    StockLevel.variant_id == variant_id, StockLevel.location == location)) or 0
                continue
            got += want
            taken.append((variant_id, location, want))
            if row[0] == 0:
                emptied.append(variant_id)
            seen = 0
    return got


def _available(session: Session, merchant_id: str, variant_id: str) -> int:
    rows = session.scalars(select(StockLevel.on_hand - StockLevel.reserved).where(
        StockLevel.variant_id == variant_id, StockLevel.merchant_id == merchant_id)).all()
    return sum(max(0, n) for n in rows)


def _held_lines(session: Session, reservation_id: str) -> dict[str, int]:
    return _totals(Line(line.variant_id, line.quantity) for line in _lines(session, reservation_id))


def _lines(session: Session, reservation_id: str) -> list[ReservationLine]:
    return list(session.scalars(select(ReservationLine).where(ReservationLine.reservation_id == reservation_id)
                                .order_by(ReservationLine.variant_id, ReservationLine.location)))


def _settled(session: Session, reservation_id: str) -> Reservation:
    found = session.get(Reservation, reservation_id, populate_existing=True)
    if found is None:
        raise ReservationNotFound(reservation_id)
    return found


def _settle(session: Session, reservation_id: str, status: str, *, now=None) -> Reservation | None:
    """Move a held reservation to `status` and give its units back, once. Returns the
    reservation as it is now (whoever settled it), or None when there is none."""
    now = now or database_now(session)
    won = session.execute(update(Reservation).where(Reservation.id == reservation_id, Reservation.status == HELD)
                          .values(status=status, settled_at=now))
    if won.rowcount == 1:
        refilled = []
        for line in _lines(session, reservation_id):
            row = session.execute(update(StockLevel).where(
                StockLevel.variant_id == line.variant_id, StockLevel.location == line.location,
            ).values(reserved=StockLevel.reserved - line.quantity).returning(StockLevel.on_hand - StockLevel.reserved)).one_or_none()
            if row is not None and row[0] == line.quantity:  # it had none left: back in stock
                refilled.append(line.variant_id)
        _products_changed(session, refilled, announce=True)
    return session.get(Reservation, reservation_id, populate_existing=True)


def _products_changed(session: Session, variant_ids: Iterable[str], *, announce: bool) -> None:
    variant_ids = sorted(set(variant_ids))
    if variant_ids:
        from marketplace.catalog import service as catalog

        catalog.stock_changed(session, variant_ids, announce=announce)
