"""Request and response bodies of the cart, checkout and order endpoints."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from marketplace.bounds import BOUNDS
from marketplace.orders import states
from marketplace.orders.saga import policy
from marketplace.wholenumbers import WholeNumber
from marketplace.orders.checkout import INVOICE, PAYMENT_METHODS
from payments.bank import invoice_reference

ID = {"validate": validate.Length(min=1, max=40)}


class AmountSchema(Schema):
    amount_minor = fields.Integer()
    currency = fields.String()


class CartLineInSchema(Schema):
    merchant_id = fields.String(required=True, **ID)
    variant_id = fields.String(required=True, **ID)
    quantity = WholeNumber(required=True, validate=validate.Range(min=1, max=BOUNDS.max_quantity))


class CartLineSchema(Schema):
    merchant_id = fields.String()
    merchant_region = fields.String()
    variant_id = fields.String()
    quantity = fields.Integer()
    quote = fields.Dict(allow_none=True, metadata={"description": "the merchant region's last quote (price_for); "
                                                   "null until it gave one: the checkout prices every line again"})
    quoted_at = fields.AwareDateTime(allow_none=True)


class CartMerchantSchema(Schema):
    merchant_id = fields.String()
    merchant_region = fields.String()
    quoted = fields.Boolean()
    goods = fields.Nested(AmountSchema, allow_none=True)
    landed = fields.Dict(allow_none=True, metadata={
        "description": "goods, shipping, insurance, duties, taxes, total, service, basis and the customs "
                       "assessment line by line in the destination's currency (logistics)"})
    cannot_ship = fields.String(allow_none=True, metadata={"description": "why no postal service takes this parcel"})
    landed_in_buyer_currency = fields.Nested(AmountSchema, allow_none=True)


class CartSchema(Schema):
    lines = fields.List(fields.Nested(CartLineSchema))
    merchants = fields.List(fields.Nested(CartMerchantSchema))
    total = fields.Nested(AmountSchema, allow_none=True)
    rates_effective = fields.String(metadata={"description": "date of the reference rates used to convert"})


class CheckoutInSchema(Schema):
    shipping_address_id = fields.String(required=True, **ID)
    payment_method = fields.String(load_default=PAYMENT_METHODS[0], validate=validate.OneOf(PAYMENT_METHODS), metadata={
        "description": "card (the default: Stripe, the app confirms with payment_client_secret), bank_transfer, "
                       "invoice (company buyers with net terms) or cash_on_delivery"})


class LegSchema(Schema):
    merchant_id = fields.String()
    merchant_region = fields.String()
    state = fields.String(metadata={"description": "requested, accepted, rejected, timed_out, confirmed or cancelled"})
    order_id = fields.String(allow_none=True)
    lines = fields.List(fields.Dict())
    currency = fields.String(allow_none=True)
    goods_amount = fields.Integer(allow_none=True)
    shipping_amount = fields.Integer(allow_none=True)
    total_amount = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "why this merchant's part did not go through"})
    problems = fields.Dict(allow_none=True, metadata={"description": "per line, what the merchant's region refused"})


class CheckoutSchema(Schema):
    id = fields.String()
    state = fields.String(metadata={"description": "requested, paying, confirming, completed or failed"})
    settled = fields.Method("_settled", metadata={"description": "true once it will not change: stop polling"})
    currency = fields.String()
    total_amount = fields.Integer(allow_none=True)
    payment_method = fields.String()
    payment_status = fields.String(allow_none=True, metadata={
        "description": "pending (the buyer must still pay: see payment_reference or payment_client_secret), authorised or declined"})
    payment_reference = fields.String(allow_none=True, metadata={
        "description": "for a bank transfer: the reference to write on it; for a card: Stripe's PaymentIntent id "
                       "(or, in the embedded default without Stripe, the stand-in card's note that nothing was charged)"})
    payment_client_secret = fields.Method("_client_secret", allow_none=True, metadata={
        "type": "string", "description": "for the app to confirm a card payment (Stripe), while the payment is pending"})
    reason = fields.String(allow_none=True)
    deadline_at = fields.AwareDateTime(metadata={"description": "every merchant's region answers by then"})
    payment_deadline_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "while paying: a payment not made by then cancels the checkout (none: its method waits)"})
    created_at = fields.AwareDateTime()
    settled_at = fields.AwareDateTime(allow_none=True)
    legs = fields.List(fields.Nested(LegSchema))

    def _settled(self, checkout) -> bool:
        return checkout.state in ("completed", "failed")

    def _client_secret(self, checkout) -> str | None:
        """Only while the buyer still has to confirm: afterwards it opens nothing they need."""
        return checkout.payment_client_secret if checkout.payment_status == "pending" else None


class PageArgs(Schema):
    after = fields.String(validate=validate.Length(max=40), metadata={"description": "the last id of the page before"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class MerchantOrderArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(states.states()))
    placed_from = fields.Date(metadata={"description": "placed on or after this day (UTC)"})
    placed_to = fields.Date(metadata={"description": "placed on or before this day (UTC)"})
    search = fields.String(validate=validate.Length(min=1, max=80),
                           metadata={"description": "an order id, or a SKU one of the order's lines has"})

    @validates_schema
    def _days_in_order(self, data, **_kwargs):
        """A range that ends before it starts finds nothing: say so rather than answer an empty page."""
        if data.get("placed_from") and data.get("placed_to") and data["placed_to"] < data["placed_from"]:
            raise ValidationError("on or after placed_from", field_name="placed_to")


class OrderSettingsSchema(Schema):
    return_window_days = WholeNumber(required=True, validate=validate.Range(
        min=policy()["return_window_min_days"], max=policy()["return_window_max_days"], error="from {min} to {max} days"),
        metadata={"description": "how many days after delivery buyers may ask for a return"})


class TransitionSchema(Schema):
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    actor = fields.String()
    at = fields.AwareDateTime()


class MerchantOrderSchema(Schema):
    id = fields.String()
    merchant_id = fields.String()
    region = fields.String()
    checkout_id = fields.String()
    state = fields.String()
    currency = fields.String()
    goods_amount = fields.Integer()
    shipping_amount = fields.Integer()
    total_amount = fields.Integer()
    lines = fields.List(fields.Dict())
    ship_to = fields.Dict()
    return_requested_at = fields.AwareDateTime(allow_none=True)
    invoice_reference = fields.Method("_invoice_reference", allow_none=True, metadata={
        "type": "string", "description": "on net terms: the reference to print on your invoice; the company's bank "
                                         "transfer carrying it pays this order. Null for other payment methods"})
    created_at = fields.AwareDateTime()
    transitions = fields.List(fields.Nested(TransitionSchema))

    def _invoice_reference(self, order) -> str | None:
        return invoice_reference(order.id) if getattr(order, "payment_method", None) == INVOICE else None


class MerchantOrderSummarySchema(MerchantOrderSchema):
    class Meta:
        exclude = ("transitions",)


class MerchantOrderPageSchema(Schema):
    items = fields.List(fields.Nested(MerchantOrderSummarySchema))
    next = fields.String(allow_none=True, metadata={"description": "`after` for the next page; null on the last"})


class MoveSchema(Schema):
    state = fields.String(required=True, validate=validate.OneOf(states.states()))


class BuyerOrderSchema(Schema):
    id = fields.String(attribute="order_id")
    checkout_id = fields.String()
    merchant_id = fields.String()
    merchant_region = fields.String()
    state = fields.String()
    currency = fields.String()
    total_amount = fields.Integer()
    lines = fields.List(fields.Dict())
    note = fields.String(allow_none=True)
    return_requested = fields.Boolean()
    receipt_confirmed_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class BuyerOrderPageSchema(Schema):
    items = fields.List(fields.Nested(BuyerOrderSchema))
    next = fields.String(allow_none=True)


class BuyerRequestSchema(Schema):
    reason = fields.String(validate=validate.Length(max=500), metadata={"description": "in your words, for the merchant"})
