"""The one payment provider interface (docs/decisions/0008), its providers, and the one place
that says which provider takes a payment (`PaymentProviders`, carried as `Platform.payments`).

The buyer picks a payment method; the method picks the provider (`PaymentProviders.name_for`):
`card` goes to Stripe (payments/stripe/) when a key is configured, and without one to
`StandInCard` when CPU_STANDIN_CARD is on (by default only in the embedded default on SQLite
files; marketplace.config), which authorises at once and says so in its reference; otherwise a
card checkout is refused. The offline methods
(bank_transfer, invoice, cash_on_delivery) always go to `OfflineProvider`. The provider's name
is recorded on the checkout when it starts, and every later call for that payment (create,
confirm, capture, void, refund) goes to the provider named there, whatever the configuration
says by then: a payment is finished where it was begun.

Every call carries `key`, our own identifier (the checkout id for create/confirm/capture/void,
our refund id for a refund, our payout id for a transfer), used as the idempotency key: a
retried saga step (events arrive at least once) repeats nothing. A provider is called outside
any database transaction: the saga records "paying", calls, then records the outcome; a crash
in between calls again, which the key makes harmless.

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
CARD = "card"
OFFLINE_METHODS = ("bank_transfer", "invoice", "cash_on_delivery")


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

    def create_payment(self, *, key: str, amount: int, currency: str, method: str, transfer_group: str,
                       region: str | None = None) -> PaymentResult: ...

    def confirm(self, *, key: str) -> PaymentResult: ...

    def capture(self, *, key: str, amount: int | None = None) -> None: ...

    def void(self, *, key: str) -> None: ...

    def refund(self, *, key: str, payment_key: str, payment_reference: str | None, amount: int,
               currency: str) -> MoneyMove: ...

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
      records the cash (payments/escrow.py).
    A card is not an offline method: asked for one, it refuses (PaymentProviders never asks).
    Refunds and payouts are paid by bank transfer from the payout file (payments/payouts.py):
    the move is recorded here under our own key.
    """

    name = "offline"

    def create_payment(self, *, key: str, amount: int, currency: str, method: str, transfer_group: str,
                       region: str | None = None) -> PaymentResult:
        if method not in OFFLINE_METHODS:
            raise ProviderError(f"{method} is not an offline payment method", retryable=False)
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

    def refund(self, *, key: str, payment_key: str, payment_reference: str | None, amount: int,
               currency: str) -> MoneyMove:
        return MoneyMove(f"offline-refund:{key}", amount, currency)

    def transfer(self, *, key: str, destination: str, amount: int, currency: str, transfer_group: str) -> MoneyMove:
        return MoneyMove(f"offline-payout:{key}", amount, currency)

    def reverse_transfer(self, *, key: str, transfer_reference: str, amount: int) -> MoneyMove:
        return MoneyMove(f"offline-reversal:{key}", amount, "")


class StandInCard(OfflineProvider):
    """The demo's card (CPU_STANDIN_CARD, never with Stripe or in production): it authorises at
    once and charges nothing, and its reference says so, so a demo can check out by card."""

    name = "stand_in_card"

    def create_payment(self, *, key: str, amount: int, currency: str, method: str, transfer_group: str,
                       region: str | None = None) -> PaymentResult:
        if method != CARD:
            raise ProviderError(f"the stand-in card takes cards, not {method}", retryable=False)
        return PaymentResult(AUTHORISED, reference=f"stand-in card, nothing charged: {key}")


class DecliningProvider(OfflineProvider):
    """Declines every payment (tests of the saga's compensation, demo of a decline); remembers
    what it was asked, so a test can see each checkout was tried once and nothing captured."""

    name = "declining"

    def __init__(self, reason: str = "The card was declined.") -> None:
        self.reason = reason
        self.created: list[str] = []
        self.captured: list[str] = []
        self.voided: list[str] = []

    def create_payment(self, *, key: str, amount: int, currency: str, method: str, transfer_group: str,
                       region: str | None = None) -> PaymentResult:
        self.created.append(key)
        return PaymentResult(DECLINED, reference=f"declined:{key}", reason=self.reason)

    def capture(self, *, key: str, amount: int | None = None) -> None:
        self.captured.append(key)

    def void(self, *, key: str) -> None:
        self.voided.append(key)


class CardNeedsStripe(ValueError):
    """A card payment asked for where no card provider is configured (no Stripe key, and no
    stand-in card): the checkout says so about its payment_method."""


class PaymentProviders:
    """Which provider takes each payment method, and which one made each payment.

    `card` is the card provider given (Stripe, or the stand-in card of CPU_STANDIN_CARD; None
    when neither is configured); the offline methods are `offline`'s. Every call for a
    payment goes to the provider `named` where it began: the checkout's (the saga, in the
    buyer's region), or the merchant order's copy of it (a refund, in the merchant's region,
    which does not read the buyer's). `payouts` pays merchants: Stripe when cards go through
    Stripe (a Connect transfer of an order's share paid through Stripe, to a merchant in a
    country Stripe reaches whose account Stripe pays out to), else the offline bank file.
    `only(provider)` sends everything to one provider: how tests put a declining one in.
    """

    def __init__(self, *, card: PaymentProvider | None, offline: PaymentProvider | None = None,
                 single: PaymentProvider | None = None) -> None:
        self.card = card
        self.offline = offline or OfflineProvider()
        self._single = single
        self._by_name = {p.name: p for p in (self.offline, StandInCard(), card) if p is not None}

    @classmethod
    def only(cls, provider: PaymentProvider) -> PaymentProviders:
        return cls(card=provider, offline=provider, single=provider)

    @property
    def payouts(self) -> PaymentProvider:
        """The provider that pays merchants (payments.payouts.rails_of decides each one's rails)."""
        if self._single is not None:
            return self._single
        return self.card if self.card is not None and self.card.name == "stripe" else self.offline

    def name_for(self, method: str) -> str:
        """The name of the provider a new payment by `method` goes to (recorded on the checkout)."""
        if self._single is not None:
            return self._single.name
        if method != CARD:
            return self.offline.name
        if self.card is None:
            raise CardNeedsStripe("Card payments are not available: this marketplace has no card provider "
                                  "configured (CPU_STRIPE_SECRET_KEY). Choose bank_transfer, invoice or cash_on_delivery.")
        return self.card.name

    def named(self, name: str | None) -> PaymentProvider:
        """The provider recorded on a checkout (or its merchant order); an error if this process
        no longer has it (Stripe's key removed while its payments were under way: they are not
        moved elsewhere), or if none was recorded (a card order paid before revision 0024 in
        another region than its checkout's: an operator refunds it where it was paid)."""
        if self._single is not None:
            return self._single
        if name is None:
            raise ProviderError("which provider took this payment is not recorded", retryable=False)
        provider = self._by_name.get(name)
        if provider is None:
            raise ProviderError(f"the payment was made through {name}, which is not configured here", retryable=False)
        return provider
