"""The one payment provider interface (docs/decisions/0008), and the embedded default.

A checkout's money goes through a provider chosen by the platform (`Platform.payments`):
Stripe (payments/stripe/) when a key is configured, otherwise `OfflineProvider`. Every call
carries `key`, our own identifier (the checkout id for create/confirm/capture/void, our refund
id for a refund, our payout id for a transfer), used as the idempotency key: a retried saga
step (events arrive at least once) repeats nothing. A provider is called outside any database
transaction: the saga records "paying", calls, then records the outcome; a crash in between
calls again, which the key makes harmless.

`create_payment` answers "authorised", "declined" or "pending" (the buyer must still act: a
Stripe PaymentIntent to confirm with its client secret, a bank transfer to send). A pending
payment's outcome comes back as the outbox event `payments.intent_updated` (contracts.md),
published by whoever learns it: the Stripe webhook, or for the offline methods an operator's
`cpu payments received` or a bank-statement import (payments/bank.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

AUTHORISED, DECLINED, PENDING = "authorised", "declined", "pending"


class ProviderError(Exception):
    """The provider failed to answer; `retryable` says whether the same call may succeed later."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class PaymentResult:
    status: str  # authorised | declined | pending
    reference: str
    client_secret: str | None = None  # for the buyer's app to confirm a pending payment
    reason: str | None = None

    @property
    def authorised(self) -> bool:
        return self.status == AUTHORISED


@dataclass(frozen=True)
class MoneyMove:
    """A refund, transfer or reversal the provider made."""

    reference: str
    amount: int
    currency: str


class PaymentProvider(Protocol):
    name: str

    def create_payment(self, *, key: str, amount: int, currency: str, method: str, transfer_group: str) -> PaymentResult: ...

    def confirm(self, *, key: str) -> PaymentResult: ...

    def capture(self, *, key: str, amount: int | None = None) -> None: ...

    def void(self, *, key: str) -> None: ...

    def refund(self, *, key: str, payment_key: str, amount: int, currency: str) -> MoneyMove: ...

    def transfer(self, *, key: str, destination: str, amount: int, currency: str, transfer_group: str) -> MoneyMove: ...

    def reverse_transfer(self, *, key: str, transfer_reference: str, amount: int) -> MoneyMove: ...


def bank_reference(checkout_id: str) -> str:
    """The payment reference a buyer writes on a bank transfer; a bank-statement line carrying
    it pays that checkout (payments/bank.py matches it back)."""
    return f"CPU-{checkout_id.removeprefix('chk_').upper()}"


class OfflineProvider:
    """The embedded default: nothing outside to call, the money moves by bank, invoice or cash.

    - bank_transfer: pending, with the reference to write on the transfer, until an operator or
      a bank-statement import reports the credit (payments.intent_updated);
    - invoice: authorised; each merchant's region has already refused a leg whose company it
      has not granted net terms (marketplace.buyers.terms), so a checkout that reaches here has them;
    - cash_on_delivery: authorised; the postal operator collects, `shipments.delivered`
      records the cash (payments/escrow.py);
    - offline: authorised at once (the merchant collects by its own means).
    Refunds and payouts are paid by bank transfer from the payout file (payments/payouts.py):
    the move is recorded here under our own key.
    """

    name = "offline"

    def create_payment(self, *, key: str, amount: int, currency: str, method: str, transfer_group: str) -> PaymentResult:
        if method == "bank_transfer":
            return PaymentResult(PENDING, reference=bank_reference(key))
        return PaymentResult(AUTHORISED, reference=f"offline:{key}")

    def confirm(self, *, key: str) -> PaymentResult:
        """Offline, nobody to ask: the outcome arrives as an event, so the payment is pending."""
        return PaymentResult(PENDING, reference=bank_reference(key))

    def capture(self, *, key: str, amount: int | None = None) -> None:
        pass

    def void(self, *, key: str) -> None:
        pass

    def refund(self, *, key: str, payment_key: str, amount: int, currency: str) -> MoneyMove:
        return MoneyMove(f"offline-refund:{key}", amount, currency)

    def transfer(self, *, key: str, destination: str, amount: int, currency: str, transfer_group: str) -> MoneyMove:
        return MoneyMove(f"offline-payout:{key}", amount, currency)

    def reverse_transfer(self, *, key: str, transfer_reference: str, amount: int) -> MoneyMove:
        return MoneyMove(f"offline-reversal:{key}", amount, "")


class DecliningProvider(OfflineProvider):
    """Declines every payment (tests of the saga's compensation, demo of a decline); remembers
    what it was asked, so a test can see each checkout was tried once and nothing captured."""

    def __init__(self, reason: str = "The card was declined.") -> None:
        self.reason = reason
        self.created: list[str] = []
        self.captured: list[str] = []

    def create_payment(self, *, key: str, amount: int, currency: str, method: str, transfer_group: str) -> PaymentResult:
        self.created.append(key)
        return PaymentResult(DECLINED, reference=f"declined:{key}", reason=self.reason)

    def capture(self, *, key: str, amount: int | None = None) -> None:
        self.captured.append(key)
