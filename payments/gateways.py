"""Payments as a checkout sees them: authorise an amount once per checkout, capture it when the
orders are confirmed, void it when the checkout is compensated.

One interface, chosen by the platform (`Platform.payments`): Stripe will fill it; until then
the embedded default is `OfflineGateway` (bank transfer, invoice on net terms, cash on
delivery: nothing to call, so an authorisation is granted at once and the merchant collects
later). Every call is keyed by the checkout id, so a retried step (at least once is all the
saga's events promise) authorises, captures or voids once. A gateway is called outside any
database transaction: the saga records "paying", calls, then records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

AUTHORISED, DECLINED = "authorised", "declined"


@dataclass(frozen=True)
class Authorisation:
    status: str  # authorised | declined
    reference: str
    reason: str | None = None

    @property
    def authorised(self) -> bool:
        return self.status == AUTHORISED


class PaymentGateway(Protocol):
    def authorise(self, *, key: str, amount: int, currency: str, method: str) -> Authorisation: ...

    def capture(self, *, key: str) -> None: ...

    def void(self, *, key: str) -> None: ...


class OfflineGateway:
    """The embedded default: offline methods are authorised at once (the merchant collects)."""

    def authorise(self, *, key: str, amount: int, currency: str, method: str) -> Authorisation:
        return Authorisation(AUTHORISED, reference=f"offline:{key}")

    def capture(self, *, key: str) -> None:
        pass

    def void(self, *, key: str) -> None:
        pass


class DecliningGateway(OfflineGateway):
    """Declines every authorisation (tests of the saga's compensation, demo of a decline);
    remembers what it was asked, so a test can see each checkout was tried and voided once."""

    def __init__(self, reason: str = "The card was declined.") -> None:
        self.reason = reason
        self.authorised: list[str] = []
        self.voided: list[str] = []

    def authorise(self, *, key: str, amount: int, currency: str, method: str) -> Authorisation:
        self.authorised.append(key)
        return Authorisation(DECLINED, reference=f"declined:{key}", reason=self.reason)

    def void(self, *, key: str) -> None:
        self.voided.append(key)
