"""What can go wrong with stock, each saying what the caller can do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from marketplace.errors import Conflict, DomainError, InvalidInput, NotFound


@dataclass(frozen=True)
class Shortage:
    """One line that could not be reserved: how many were asked for, how many there are."""

    line: int  # its index in the request
    variant_id: str
    requested: int
    available: int


class OutOfStock(Conflict):
    """Some lines of a reservation cannot be met; nothing was reserved."""

    slug = "out-of-stock"
    title = "Out of stock"

    def __init__(self, shortages: list[Shortage]):
        words = "; ".join(f"{s.variant_id}: {s.requested} asked for, {s.available} available" for s in shortages)
        super().__init__(f"Not enough stock, nothing was reserved ({words}).",
                         errors={f"lines.{s.line}": [f"{s.available} available"] for s in shortages})
        self.shortages = shortages

    def extra(self) -> dict[str, object]:
        return {"shortages": [asdict(s) for s in self.shortages]}


class ReservationNotFound(NotFound):
    def __init__(self, reservation_id: str):
        super().__init__(f"No stock reservation {reservation_id}.")


class ReservationSettled(Conflict):
    """A reservation that was released, expired or sold cannot become another of those."""

    def __init__(self, reservation_id: str, status: str, wanted: str):
        super().__init__(f"Stock reservation {reservation_id} is {status}; it cannot be {wanted}.")
        self.reservation_status = status

    def extra(self) -> dict[str, object]:
        return {"reservation_status": self.reservation_status}


class ReservationMismatch(Conflict):
    def __init__(self, reservation_id: str):
        super().__init__(f"Stock reservation {reservation_id} exists with other lines; a reservation id is used for one request only.")


class BelowReserved(Conflict):
    """A count below the units checkouts hold: those buyers would be sold what is not there."""

    def __init__(self, variant_id: str, location: str, reserved: int):
        super().__init__(f"{reserved} units of {variant_id} at {location} are reserved by checkouts; "
                         f"the count cannot go below that until they are sold or released.",
                         errors={"on_hand": [f"at least {reserved} (reserved by checkouts)"]})
        self.reserved = reserved

    def extra(self) -> dict[str, object]:
        return {"reserved": self.reserved}


class StaleStock(DomainError):
    """The caller's copy of a stock level is older than the stored one (a stale If-Match): a sale
    or another count came between. The same answer as a stale product edit."""

    status = 412
    title = "Precondition failed"
    slug = "precondition-failed"

    def __init__(self, variant_id: str, location: str, revision: int | None):
        now = f"it is at revision {revision} now" if revision is not None else "it does not exist"
        super().__init__(f"Stock of {variant_id} at {location} was changed meanwhile; {now}. "
                         f"Read it again, then apply your change to that.")
        self.revision = revision

    def extra(self) -> dict[str, object]:
        return {"revision": self.revision}


class BadLines(InvalidInput):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("The reservation's lines are not valid.", errors=errors)
