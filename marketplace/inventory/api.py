"""The merchant stock API: a variant's stock by location, and counting one location.

Owners and staff alike may count stock (it is the daily work of whoever is at the shelf), as
they may edit products. A count names the revision it was made from (If-Match), so a sale
that came between is never undone: the count is refused with 412 and read again.
"""

from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.catalog.api import expected_revision
from marketplace.inventory import service
from marketplace.inventory.schemas import CountSchema, StockLevelSchema, StockSchema
from marketplace.merchants.principal import current_principal, require_principal
from marketplace.platform import router

blp = Blueprint("inventory", __name__, url_prefix="/api/v1/merchant", description="A merchant's stock")
blp.before_request(require_principal)

IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string", "pattern": r'^(\*|"[0-9]+")$'},
            "description": "the ETag (revision) of the location's stock as you read it; a count over a newer one is refused with 412"}


@blp.route("/variants/<variant_id>/stock")
class VariantStock(MethodView):
    @blp.response(200, StockSchema)
    def get(self, variant_id):
        """Your stock of one variant: on hand, reserved by checkouts and available, by location."""
        levels = service.stock_of(router=router(), principal=current_principal(), variant_id=variant_id)
        return {"variant_id": variant_id, "locations": levels}


@blp.route("/variants/<variant_id>/stock/<location>")
class LocationStock(MethodView):
    @blp.arguments(CountSchema())
    @blp.response(200, StockLevelSchema)
    @blp.alt_response(412, description="If-Match names an older revision: a sale or another count came since you read it")
    @blp.alt_response(409, description="the count is below the units checkouts hold")
    @blp.doc(parameters=[IF_MATCH])
    def put(self, count, variant_id, location):
        """Count one location: set its units on hand (a new location is added)."""
        level = service.set_on_hand(router=router(), principal=current_principal(), variant_id=variant_id,
                                    location=location, on_hand=count["on_hand"], expected_revision=expected_revision())
        return level, 200, {"ETag": f'"{level.revision}"'}
