"""Merchant registration and lookup: the vertical slice that proves the router."""

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.merchants import service
from marketplace.merchants.schemas import MerchantCreateSchema, MerchantSchema
from marketplace.platform import router
from marketplace.regions import idempotency

blp = Blueprint("merchants", __name__, url_prefix="/api/v1/merchants", description="Merchant accounts")


@blp.route("")
class Merchants(MethodView):
    @blp.arguments(MerchantCreateSchema())
    @blp.response(201, MerchantSchema)
    @blp.alt_response(503, description="The home region's data center is unreachable")
    @blp.doc(parameters=[idempotency.OPENAPI_HEADER])
    def post(self, data):
        """Register a merchant in its home region."""
        return service.register(router=router(), idempotency_key=request.headers.get("Idempotency-Key"), **data)


@blp.route("/<merchant_id>")
class MerchantById(MethodView):
    @blp.response(200, MerchantSchema)
    @blp.alt_response(404, description="No such merchant")
    def get(self, merchant_id):
        """Read a merchant from its home region."""
        return service.get(router=router(), merchant_id=merchant_id)
