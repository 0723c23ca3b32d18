"""The payment provider contract's value types (docs: /work/wt/prompts/contracts.md, "Payment
provider interface"). payments/gateways.py will hold them once the ledger's branch is merged;
until then they live here under the same names, and this module re-exports those instead."""

from __future__ import annotations

from dataclasses import dataclass

AUTHORISED, DECLINED, PENDING = "authorised", "declined", "pending"


@dataclass(frozen=True)
class PaymentResult:
    status: str  # authorised | declined | pending (the buyer's app must still confirm with client_secret)
    reference: str
    client_secret: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class MoneyMove:
    """A refund, transfer or reversal, as the provider recorded it."""

    reference: str
    amount: int
    currency: str


class ProviderError(Exception):
    """The provider refused or could not be reached; `retryable` says whether the same call,
    with the same key, may succeed later (a network fault, a rate limit, Stripe's 5xx)."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
