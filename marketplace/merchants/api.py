"""Opening a merchant account, and reading a merchant.

Registration here is the dashboard's sign-up as JSON (accounts.sign_up, the one way to
become a merchant): a merchant always has an owner who can sign in, an email and a
storefront handle. It is throttled per client address like the sign-up form (see
marketplace.throttle)."""

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.merchants import accounts, service
from marketplace.merchants.schemas import MerchantCreateSchema, MerchantSchema, merchant_document
from marketplace.platform import router
from marketplace.regions import idempotency

blp = Blueprint("merchants", __name__, url_prefix="/api/v1/merchants", description="Merchant accounts")


@blp.route("")
class Merchants(MethodView):
    @blp.arguments(MerchantCreateSchema())
    @blp.response(201, MerchantSchema)
    @blp.alt_response(409, description="The handle or email is already in use")
    @blp.alt_response(429, description="Too many sign-ups from this address")
    @blp.alt_response(503, description="The home region's data center, or the region that decides whether the "
                                       "handle or email is free, is unreachable (`region` names it)")
    @blp.doc(parameters=[idempotency.OPENAPI_HEADER])
    def post(self, data):
        """Open a merchant account with its owner, in its home region."""
        owner = accounts.sign_up(router=router(), idempotency_key=request.headers.get("Idempotency-Key"), **data)
        return service.get(router=router(), merchant_id=owner.merchant_id)


@blp.route("/<merchant_id>")
class MerchantById(MethodView):
    @blp.response(200, MerchantSchema)
    @blp.alt_response(404, description="No such merchant")
    def get(self, merchant_id):
        """Read a merchant from its home region."""
        return jsonify(merchant_document(service.get(router=router(), merchant_id=merchant_id)))  # MerchantSchema's body
