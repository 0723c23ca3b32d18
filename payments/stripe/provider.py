"""Stripe Connect, separate charges and transfers, behind the payment provider contract.

A checkout is one PaymentIntent in the buyer's presentment currency, authorised only
(capture_method manual) and confirmed by the buyer's app with the client secret, so no card
data reaches us. A merchant's shares of the orders paid here go by a Transfer per payout to its
connected account (payments/payouts.py), once Stripe has enabled the account's payouts
(payments/stripe/accounts.py); refunds come out of the platform's balance and a transfer
reversal takes the merchant's share back when it was already paid.

Every mutating call carries an idempotency key made of our own id and the step
(`chk_…:payment`, `rfd_…:refund`), so a call retried after a crash repeats nothing on Stripe's
side. Calls happen outside any transaction of ours; what must be remembered (the intent of a
checkout, a merchant's account) is written after Stripe answers, in its own short unit of work.
"""

from __future__ import annotations

import logging
import time

import stripe

from payments.rails import STRIPE_CONNECT, rail_for
from marketplace.regions.base import database_now
from payments.stripe import accounts, states
from payments.stripe.models import StripeAccount, StripePayment
from payments.gateways import AUTHORISED, DECLINED, PENDING, MoneyMove, PaymentResult, ProviderError

RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError)
OUTCOMES = {"authorised": AUTHORISED, "declined": DECLINED}
LINK_REUSE_SECONDS = 60  # a second click on "connect" within a minute gets the same link back
# The library logs every response body at DEBUG, a PaymentIntent's client secret among them:
# its logger stays at INFO (method and URL only) whatever level the service logs at.
logging.getLogger("stripe").setLevel(logging.INFO)


def client_for(settings) -> stripe.StripeClient:
    """The StripeClient of the platform's secret key; CPU_STRIPE_API_BASE points it elsewhere (tests)."""
    bases = {"api": settings.stripe_api_base, "connect": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(settings.stripe_secret_key, base_addresses=bases, max_network_retries=0)


class StripeProvider:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient, router) -> None:
        self.client = client
        self.router = router

    # The buyer's payment --------------------------------------------------------------------

    def create_payment(self, *, key: str, amount: int, currency: str, method: str, transfer_group: str,
                       region: str | None = None) -> PaymentResult:
        """A PaymentIntent for the checkout `key`. Its metadata names the buyer's region (the
        region whose process makes it, unless `region` says), so the webhook can hand its
        events to the region that owns the payment."""
        region = region or self.router.region
        if region is None:
            raise ValueError("name the buyer's region: this process serves every region")
        intent = self._call(self.client.v1.payment_intents.create, {
            "amount": amount, "currency": currency.lower(), "capture_method": "manual",
            "transfer_group": transfer_group, "automatic_payment_methods": {"enabled": True},
            "metadata": {"checkout_id": key, "region": region, "method": method},
        }, idempotency_key=f"{key}:payment")
        self._remember(region, key, intent)
        return _result(intent)

    def confirm(self, *, key: str) -> PaymentResult:
        """The payment's state as Stripe has it now (a read: nothing to repeat)."""
        region, payment = self._payment(key)
        intent = self._call(self.client.v1.payment_intents.retrieve, payment.intent_id)
        self._remember(region, key, intent)
        return _result(intent)

    def capture(self, *, key: str, amount: int | None = None) -> None:
        region, payment = self._payment(key)
        params = {} if amount is None else {"amount_to_capture": amount}
        intent = self._call(self.client.v1.payment_intents.capture, payment.intent_id, params,
                            idempotency_key=f"{key}:capture")
        self._remember(region, key, intent)

    def void(self, *, key: str) -> None:
        """Take nothing for the checkout: cancel its PaymentIntent, or refund it in full when
        Stripe has captured it already (as Stripe has it now, not as the last webhook said); a
        checkout that never reached Stripe has nothing to void."""
        found = self._find_payment(key)
        if found is None:
            return
        region, payment = found
        if payment.status == "canceled":
            return
        intent = self._call(self.client.v1.payment_intents.retrieve, payment.intent_id)
        if intent["status"] == "succeeded":
            self._call(self.client.v1.refunds.create, {"payment_intent": intent["id"], "metadata": {"checkout_id": key}},
                       idempotency_key=f"{key}:refund")
        elif intent["status"] != "canceled":
            intent = self._call(self.client.v1.payment_intents.cancel, payment.intent_id, {},
                                idempotency_key=f"{key}:void")
        self._remember(region, key, intent)

    def refund(self, *, key: str, payment_key: str, payment_reference: str | None, amount: int,
               currency: str) -> MoneyMove:
        """Refund `amount` of checkout `payment_key`'s payment, PaymentIntent `payment_reference`
        (refund id `key`). Called in the merchant's region, which does not hold the checkout's
        StripePayment: the intent is read from Stripe, so a refund in another currency than the
        payment's is refused before any money moves."""
        if payment_reference is None:
            raise ProviderError(f"no Stripe payment is recorded for checkout {payment_key}", retryable=False)
        intent = self._call(self.client.v1.payment_intents.retrieve, payment_reference)
        if currency.lower() != intent["currency"]:
            raise ProviderError(f"the payment is in {intent['currency'].upper()}, not {currency.upper()}", retryable=False)
        refund = self._call(self.client.v1.refunds.create, {
            "payment_intent": payment_reference, "amount": amount,
            "metadata": {"refund_id": key, "checkout_id": payment_key},
        }, idempotency_key=f"{key}:refund")
        return MoneyMove(reference=refund["id"], amount=refund["amount"], currency=refund["currency"].upper())

    # The merchants' shares ------------------------------------------------------------------

    def transfer(self, *, key: str, destination: str, amount: int, currency: str, transfer_group: str) -> MoneyMove:
        """Pay merchant `destination` (our merchant id) its share, net of the marketplace fee,
        to its connected account (payout id `key`).

        Stripe keeps an idempotency key for 24 hours: a payout still sending after that (the runs
        failed for a day) would be a second transfer under the same key if the first went
        through and only its answer was lost. So the payout's transfer group is looked up first,
        and a transfer already made for it is the answer."""
        made = self._call(self.client.v1.transfers.list, {"transfer_group": transfer_group, "limit": 10})
        for transfer in made["data"]:
            if (transfer.get("metadata") or {}).get("payout_id") == key:
                return MoneyMove(reference=transfer["id"], amount=transfer["amount"], currency=transfer["currency"].upper())
        transfer = self._call(self.client.v1.transfers.create, {
            "amount": amount, "currency": currency.lower(), "destination": self.account_of(destination),
            "transfer_group": transfer_group, "metadata": {"payout_id": key, "merchant_id": destination},
        }, idempotency_key=f"{key}:transfer")
        return MoneyMove(reference=transfer["id"], amount=transfer["amount"], currency=transfer["currency"].upper())

    def reverse_transfer(self, *, key: str, transfer_reference: str, amount: int) -> MoneyMove:
        """Take `amount` of a paid transfer back from the merchant (for refund `key`)."""
        reversal = self._call(self.client.v1.transfers.reversals.create, transfer_reference, {
            "amount": amount, "metadata": {"refund_id": key},
        }, idempotency_key=f"{key}:reversal")
        return MoneyMove(reference=reversal["id"], amount=reversal["amount"], currency=reversal["currency"].upper())

    # Onboarding -----------------------------------------------------------------------------

    def account_of(self, merchant_id: str) -> str:
        account = self.connected_account(merchant_id)
        if account is None:
            raise ProviderError(f"merchant {merchant_id} has no connected Stripe account yet", retryable=False)
        return account.account_id

    def onboarding_link(self, *, merchant_id: str, country: str, refresh_url: str, return_url: str) -> dict:
        """A link to Stripe's hosted onboarding for the merchant's connected account, which is
        opened first if it has none (country from payout_rails.toml)."""
        rail = rail_for(country)
        if rail.name != STRIPE_CONNECT:
            raise ProviderError(f"Stripe Connect does not reach merchants in {country}; they are paid by {rail.name}",
                                retryable=False)
        account = self.connected_account(merchant_id) or self._open_account(merchant_id, rail.stripe_country)
        minute = int(time.time() // LINK_REUSE_SECONDS)
        link = self._call(self.client.v1.account_links.create, {
            "account": account.account_id, "refresh_url": refresh_url, "return_url": return_url,
            "type": "account_onboarding",
        }, idempotency_key=f"{merchant_id}:account_link:{minute}")
        return {"url": link["url"], "expires_at": link["expires_at"], "account_id": account.account_id}

    def _open_account(self, merchant_id: str, country: str) -> StripeAccount:
        opened = self._call(self.client.v1.accounts.create, {
            "country": country, "type": "express",
            "capabilities": {"transfers": {"requested": True}}, "metadata": {"merchant_id": merchant_id},
        }, idempotency_key=f"{merchant_id}:account")
        region = self.router.region_of(merchant_id)
        with self.router.unit_of_work(region) as uow:
            account = uow.session.get(StripeAccount, merchant_id)
            if account is None:
                account = StripeAccount(merchant_id=merchant_id, region=region, account_id=opened["id"],
                                        country=opened["country"])
                accounts.record(account, opened, at=opened.get("created", 0))
                uow.session.add(account)
                uow.commit()
        return account

    def refresh_account(self, merchant_id: str) -> StripeAccount | None:
        """The merchant's connected account read back from Stripe and its state recorded (its
        owner is back from the account link: payments/stripe/accounts.py); None without one."""
        account = self.connected_account(merchant_id)
        if account is None:
            return None
        # timed before the read: an account.updated applied while Stripe answered is newer news
        with self.router.unit_of_work(account.region, read_only=True) as uow:
            asked_at = int(database_now(uow.session).timestamp())
        obj = self._call(self.client.v1.accounts.retrieve, account.account_id)
        with self.router.unit_of_work(account.region) as uow:
            account = uow.session.get(StripeAccount, merchant_id, with_for_update=True)
            accounts.record(account, obj, at=asked_at)
            uow.commit()
        return account

    def connected_account(self, merchant_id: str) -> StripeAccount | None:
        with self.router.unit_of_work(self.router.region_of(merchant_id), read_only=True) as uow:
            return uow.session.get(StripeAccount, merchant_id)

    # Where each intent is remembered ---------------------------------------------------------

    def _remember(self, region: str, checkout_id: str, intent) -> None:
        with self.router.unit_of_work(region) as uow:
            states.advance(uow.session, checkout_id=checkout_id, intent=intent)
            uow.commit()

    def _find_payment(self, checkout_id: str) -> tuple[str, StripePayment] | None:
        for region in self.router.served_regions:
            with self.router.unit_of_work(region, read_only=True) as uow:
                payment = uow.session.get(StripePayment, checkout_id)
            if payment is not None:
                return region, payment
        return None

    def _payment(self, checkout_id: str) -> tuple[str, StripePayment]:
        found = self._find_payment(checkout_id)
        if found is None:
            raise ProviderError(f"no Stripe payment was made for checkout {checkout_id}", retryable=False)
        return found

    @staticmethod
    def _call(method, *args, idempotency_key: str | None = None):
        """Stripe's answer as a plain dict (the library's objects are not dicts), or ProviderError."""
        options = {"idempotency_key": idempotency_key} if idempotency_key else {}
        try:
            return (method(*args, options=options) if options else method(*args)).to_dict()
        except RETRYABLE as exc:
            raise ProviderError(f"Stripe could not be reached or is busy: {exc.user_message or exc}", retryable=True) from exc
        except stripe.IdempotencyError as exc:
            # The key's first request was made with other parameters: it may have moved money,
            # so this is never a refusal (a refused payout is given back and paid again).
            raise ProviderError(f"Stripe has another request under this key: {exc.user_message or exc}",
                                retryable=True) from exc
        except stripe.StripeError as exc:
            # 409: the key's first request is still in flight at Stripe (same reason as above)
            retryable = (exc.http_status or 0) >= 500 or exc.http_status == 409
            raise ProviderError(f"Stripe refused: {exc.user_message or exc}", retryable=retryable) from exc


def _result(intent) -> PaymentResult:
    status = states.status_of(intent["status"])
    error = intent.get("last_payment_error") or {}
    outcome = OUTCOMES.get(status.outcome, PENDING)
    return PaymentResult(status=outcome, reference=intent["id"],
                         client_secret=intent.get("client_secret") if outcome == PENDING else None,
                         reason=error.get("message") if outcome == DECLINED else None)
