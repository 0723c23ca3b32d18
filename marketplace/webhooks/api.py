"""Webhooks through the merchant JSON API: register, list, delete, and the delivery log (owners only)."""

from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.merchants.principal import current_principal, require_principal
from marketplace.platform import router
from marketplace.webhooks import service
from marketplace.webhooks.schemas import DeliverySchema, NewWebhookSchema, WebhookSchema

blp = Blueprint("merchant_webhooks", __name__, url_prefix="/api/v1/merchant/webhooks",
                description="Your webhooks: order events sent to your systems, signed")
blp.before_request(require_principal)


@blp.route("")
class Webhooks(MethodView):
    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        """Your webhooks (owners only; never their secrets)."""
        return service.list_(router=router(), principal=current_principal())

    @blp.arguments(WebhookSchema())
    @blp.response(201, NewWebhookSchema)
    @blp.alt_response(409, description="The merchant has as many webhooks as it may")
    @blp.alt_response(422, description="An unknown event, or a URL webhooks are not sent to")
    def post(self, data):
        """Register a webhook for order events (owners only); its signing secret is in the answer and nowhere else."""
        endpoint, secret = service.create(router=router(), principal=current_principal(), **data)
        return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events, "created_at": endpoint.created_at,
                "secret": secret}


@blp.route("/<webhook_id>")
class WebhookById(MethodView):
    @blp.response(204)
    def delete(self, webhook_id):
        """Delete a webhook (owners only): nothing more is sent to it."""
        service.delete(router=router(), principal=current_principal(), webhook_id=webhook_id)


@blp.route("/<webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.response(200, DeliverySchema(many=True))
    def get(self, webhook_id):
        """The webhook's latest deliveries, newest first, with each attempt's status, latency and error (owners only)."""
        return service.deliveries(router=router(), principal=current_principal(), webhook_id=webhook_id)
