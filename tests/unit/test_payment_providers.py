"""Which provider takes a payment (payments.gateways.PaymentProviders): by method for a new
payment, by the name recorded on the checkout for every later call."""

from __future__ import annotations

import pytest

from payments.gateways import (CardNeedsStripe, DecliningProvider, OfflineProvider, PaymentProviders, ProviderError,
                               StandInCard)


class FakeStripe(OfflineProvider):
    name = "stripe"


def test_a_card_goes_to_the_card_provider_and_the_offline_methods_offline():
    providers = PaymentProviders(card=FakeStripe())
    assert providers.name_for("card") == "stripe"
    assert {providers.name_for(m) for m in ("bank_transfer", "invoice", "cash_on_delivery")} == {"offline"}


def test_without_a_card_provider_a_card_is_refused_and_the_offline_methods_still_work():
    providers = PaymentProviders(card=None)
    with pytest.raises(CardNeedsStripe, match="CPU_STRIPE_SECRET_KEY"):
        providers.name_for("card")
    assert providers.name_for("bank_transfer") == "offline"


def test_a_recorded_provider_is_used_even_when_no_longer_the_one_chosen():
    providers = PaymentProviders(card=FakeStripe())  # Stripe configured since
    assert isinstance(providers.named("stand_in_card"), StandInCard)  # an older checkout keeps its stand-in
    assert isinstance(providers.named("offline"), OfflineProvider)


def test_a_payment_begun_at_stripe_is_not_moved_elsewhere_when_the_key_is_gone():
    providers = PaymentProviders(card=StandInCard())
    with pytest.raises(ProviderError, match="stripe, which is not configured") as refused:
        providers.named("stripe")
    assert refused.value.retryable is False


def test_the_offline_provider_takes_no_card():
    with pytest.raises(ProviderError):
        OfflineProvider().create_payment(key="chk_1", amount=100, currency="XCD", method="card", transfer_group="chk_1")


def test_only_sends_everything_to_one_provider():
    declining = DecliningProvider()
    providers = PaymentProviders.only(declining)
    assert providers.named(providers.name_for("card")) is declining and providers.named("stripe") is declining
