"""The merchant's payout rail, and its Stripe Connect onboarding link, through the merchant API."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from marketplace.errors import Conflict, DomainError
from marketplace.merchants import accounts
from marketplace.merchants.principal import current_principal, require_principal
from marketplace.platform import platform
from payments import payouts
from payments.gateways import ProviderError

blp = Blueprint("merchant_payouts", __name__, url_prefix="/api/v1/merchant/payouts", description="How you are paid")
blp.before_request(require_principal)


class StripeAway(DomainError):
    status = 503
    title = "Payment provider unavailable"
    slug = "provider-unavailable"


class ByPaymentSchema(Schema):
    paid_through = fields.String(metadata={"description": "stripe: orders buyers paid through Stripe (card); other: "
                                                          "bank transfer, invoice, cash on delivery"})
    rail = fields.String(metadata={"description": "stripe_connect or bank_transfer"})


class StripeAccountStateSchema(Schema):
    payouts_enabled = fields.Boolean(metadata={"description": "Stripe pays out to the account: only then is Connect your rail"})
    charges_enabled = fields.Boolean()
    details_submitted = fields.Boolean(metadata={"description": "you finished Stripe's onboarding"})
    requirements_due = fields.List(fields.String(), metadata={"description": "what Stripe still asks of you"})


class RailSchema(Schema):
    rail = fields.String(metadata={"description": "how money buyers paid through Stripe (card) reaches you: "
                                                  "stripe_connect or bank_transfer (payments/payout_rails.toml); all "
                                                  "other money goes by bank_transfer (see by_payment)"})
    description = fields.String()
    country = fields.String(metadata={"description": "your home country, which decides whether Stripe Connect reaches you"})
    why = fields.String(allow_none=True, metadata={"description": "why your Stripe money is not paid by Stripe Connect"})
    by_payment = fields.List(fields.Nested(ByPaymentSchema))
    stripe_account_id = fields.String(allow_none=True, metadata={"description": "your connected account (owners only); null: none yet, or you are staff"})
    stripe_account = fields.Nested(StripeAccountStateSchema, allow_none=True, metadata={
        "description": "the account's state as Stripe last told it (owners only)"})


class OnboardingRequestSchema(Schema):
    pass


class OnboardingLinkSchema(Schema):
    url = fields.String(metadata={"description": "Stripe's hosted onboarding; open it in a browser now"})
    expires_at = fields.Integer(metadata={"description": "Unix time the link stops working"})
    account_id = fields.String()


@blp.route("/rail")
class Rail(MethodView):
    @blp.response(200, RailSchema)
    def get(self):
        """How your payable reaches you: Stripe Connect for your Stripe orders once Stripe pays out to your account, else bank transfer."""
        return payouts.describe_rail(platform().router, current_principal(), platform().payments.payouts.name)


@blp.route("/stripe-onboarding")
class StripeOnboarding(MethodView):
    @blp.arguments(OnboardingRequestSchema())
    @blp.response(201, OnboardingLinkSchema)
    @blp.alt_response(409, description="Your payouts do not go through Stripe, or Stripe is not configured")
    def post(self, _):
        """A fresh link to Stripe's onboarding of your connected account (owners only)."""
        principal = current_principal()
        principal.require_owner("connect a Stripe account")
        current = platform()
        if current.stripe is None:
            raise Conflict("This marketplace takes no Stripe payments; payouts go by bank transfer.")
        merchant = accounts.get_merchant(router=current.router, principal=principal)
        base = current.settings.public_url or ""
        try:
            return current.stripe.onboarding_link(
                merchant_id=merchant.id, country=merchant.home_country,
                refresh_url=f"{base}/dashboard/payouts?stripe=refresh", return_url=f"{base}/dashboard/payouts?stripe=done")
        except ProviderError as exc:
            raise (StripeAway if exc.retryable else Conflict)(str(exc)) from None
