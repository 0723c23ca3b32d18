"""The buyer's cart, checkouts and orders (mobile API), and the merchant's orders (merchant API).

Buyer endpoints act only on the caller's own rows in their home region (another buyer's ids
are not found); merchant endpoints only on the principal's merchant's orders."""

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from marketplace.buyers.principal import require_buyer, require_buyer_before_request
from marketplace.merchants.principal import current_principal, require_principal
from marketplace.orders import cart, checkout, service
from marketplace.orders.schemas import (
    BuyerOrderPageSchema, BuyerOrderSchema, BuyerRequestSchema, CartLineInSchema, CartSchema, CheckoutInSchema, CheckoutSchema,
    MerchantOrderArgs, MerchantOrderPageSchema, MerchantOrderSchema, MoveSchema, OrderSettingsSchema, PageArgs,
)
from marketplace.platform import platform, router
from marketplace.regions import idempotency

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Your cart, checkouts and orders")
blp.before_request(require_buyer_before_request)
merchant_blp = Blueprint("merchant_orders", __name__, url_prefix="/api/v1/merchant", description="Your orders")
merchant_blp.before_request(require_principal)


def _page(items, limit, id_of):
    return {"items": items, "next": id_of(items[-1]) if len(items) == limit else None}


@blp.route("/cart")
class Cart(MethodView):
    @blp.response(200, CartSchema)
    def get(self):
        """Your cart: lines with their last quote, per merchant the landed cost, in your currency too."""
        return cart.view(router=router(), buyer=require_buyer())


@blp.route("/cart/lines")
class CartLines(MethodView):
    @blp.arguments(CartLineInSchema())
    @blp.response(200, CartSchema)
    @blp.alt_response(422, description="The quantity breaks the MOQ or case pack (`accepted_quantity` says what would "
                                       "do), or the item does not ship to your country")
    def put(self, data):
        """Put a quantity of a merchant's variant in your cart (replacing its quantity)."""
        return cart.put_line(router=router(), buyer=require_buyer(), **data)


@blp.route("/cart/lines/<variant_id>")
class CartLine(MethodView):
    @blp.response(204)
    def delete(self, variant_id):
        """Take a variant out of your cart."""
        cart.remove_line(router=router(), buyer=require_buyer(), variant_id=variant_id)


@blp.route("/checkouts")
class Checkouts(MethodView):
    @blp.arguments(CheckoutInSchema())
    @blp.response(202, CheckoutSchema)
    @blp.alt_response(422, description="Empty cart, no Idempotency-Key, or the key was used with another body")
    @blp.doc(parameters=[{**idempotency.OPENAPI_HEADER, "required": True}])
    def post(self, data):
        """Check out your cart: each merchant's region is asked; poll the checkout until it is settled."""
        settings = platform().settings
        return checkout.start(router=router(), buyer=require_buyer(), idempotency_key=request.headers.get("Idempotency-Key"),
                              leg_seconds=settings.checkout_deadline_seconds, hold_seconds=settings.stock_hold_seconds,
                              **data)


@blp.route("/checkouts/<checkout_id>")
class OneCheckout(MethodView):
    @blp.response(200, CheckoutSchema)
    def get(self, checkout_id):
        """One of your checkouts: its state and each merchant's outcome."""
        return checkout.get(router=router(), buyer=require_buyer(), checkout_id=checkout_id)


@blp.route("/orders")
class BuyerOrders(MethodView):
    @blp.arguments(PageArgs, location="query", unknown=RAISE)
    @blp.response(200, BuyerOrderPageSchema)
    def get(self, args):
        """Your orders from every merchant and region, newest first."""
        items = service.list_for_buyer(router=router(), buyer=require_buyer(), **args)
        return _page(items, args["limit"], lambda o: o.order_id)


@blp.route("/orders/<order_id>")
class BuyerOrder(MethodView):
    @blp.response(200, BuyerOrderSchema)
    def get(self, order_id):
        """One of your orders."""
        return service.get_for_buyer(router=router(), buyer=require_buyer(), order_id=order_id)


@blp.route("/orders/<order_id>/cancel")
class BuyerCancel(MethodView):
    @blp.arguments(BuyerRequestSchema())
    @blp.response(202, BuyerOrderSchema)
    @blp.alt_response(409, description="Shipped already")
    def post(self, data, order_id):
        """Cancel an order before it ships; the merchant's region answers, and the order follows."""
        return service.cancel_for_buyer(router=router(), buyer=require_buyer(), order_id=order_id)


@blp.route("/orders/<order_id>/return")
class BuyerReturn(MethodView):
    @blp.arguments(BuyerRequestSchema())
    @blp.response(202, BuyerOrderSchema)
    @blp.alt_response(409, description="Not delivered yet")
    def post(self, data, order_id):
        """Ask for a return of a delivered order, within the merchant's return window."""
        return service.request_return(router=router(), buyer=require_buyer(), order_id=order_id)


@blp.route("/orders/<order_id>/receipt")
class BuyerOrderReceipt(MethodView):
    @blp.arguments(BuyerRequestSchema())
    @blp.response(200, BuyerOrderSchema)
    @blp.alt_response(409, description="Not shipped yet")
    def post(self, data, order_id):
        """Confirm you received a shipped order (once): it becomes delivered and its merchant is paid from escrow."""
        return service.confirm_receipt(router=router(), buyer=require_buyer(), order_id=order_id)


@merchant_blp.route("/orders")
class MerchantOrders(MethodView):
    @merchant_blp.arguments(MerchantOrderArgs, location="query", unknown=RAISE)
    @merchant_blp.response(200, MerchantOrderPageSchema)
    def get(self, args):
        """Your orders, newest first, by state if you like."""
        items = service.list_for_merchant(router=router(), principal=current_principal(), **args)
        return _page(items, args["limit"], lambda o: o.id)


@merchant_blp.route("/orders/<order_id>")
class MerchantOrder(MethodView):
    @merchant_blp.response(200, MerchantOrderSchema)
    def get(self, order_id):
        """One of your orders: lines, the address to ship to, state and every transition."""
        return service.get_for_merchant(router=router(), principal=current_principal(), order_id=order_id)


@merchant_blp.route("/orders/<order_id>/state")
class MerchantOrderState(MethodView):
    @merchant_blp.arguments(MoveSchema())
    @merchant_blp.response(200, MerchantOrderSchema)
    @merchant_blp.alt_response(409, description="The state machine does not allow this move from the order's state")
    def put(self, data, order_id):
        """Move one of your orders on (in fulfilment, shipped, delivered, completed, refunded, cancelled)."""
        return service.move(router=router(), principal=current_principal(), order_id=order_id, to_state=data["state"])


@merchant_blp.route("/order-settings")
class MerchantOrderSettings(MethodView):
    @merchant_blp.response(200, OrderSettingsSchema)
    def get(self):
        """Your order terms: the return window (the marketplace's default until you set one)."""
        return service.order_settings(router=router(), principal=current_principal())

    @merchant_blp.arguments(OrderSettingsSchema())
    @merchant_blp.response(200, OrderSettingsSchema)
    def put(self, data):
        """Set your return window in days after delivery (owners only)."""
        return service.set_return_window(router=router(), principal=current_principal(), days=data["return_window_days"])
