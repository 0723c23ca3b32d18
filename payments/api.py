"""The merchant's balance statement (merchant API; owners only: it is the business's money)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.merchants.principal import current_principal, require_principal
from marketplace.platform import platform, router
from payments import statement
from payments.schemas import StatementSchema

blp = Blueprint("merchant_payments", __name__, url_prefix="/api/v1/merchant", description="Your money")
blp.before_request(require_principal)


@blp.route("/balance")
class Balance(MethodView):
    @blp.response(200, StatementSchema)
    @blp.alt_response(403, description="Staff and staff keys: the balance is the owner's to see")
    def get(self):
        """Held, available and paid out per currency, and the latest lines, from the ledger."""
        return statement.for_merchant(router=router(), principal=current_principal(), provider_name=platform().payments.payouts.name)
