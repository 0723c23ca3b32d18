"""Shipments through the merchant API, parcel tracking through the buyer's mobile API."""

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from marshmallow import RAISE

from logistics import shipments, tracking
from logistics.schemas import (AdvanceDataSchema, BuyerParcelSchema, CustomsArgsSchema, HandOverSchema, NewReturnSchema,
                               NewShipmentSchema, ShipmentDetailSchema, ShipmentSchema)
from marketplace.buyers.principal import require_buyer, require_buyer_before_request
from marketplace.merchants.principal import current_principal, require_principal
from marketplace.platform import router
from marketplace.regions import idempotency

merchant_blp = Blueprint("merchant_shipments", __name__, url_prefix="/api/v1/merchant",
                         description="Your parcels: tracking numbers, labels, hand-over and returns")
merchant_blp.before_request(require_principal)
buyer_blp = Blueprint("buyer_tracking", __name__, url_prefix="/api/v1", description="Where your parcels are")
buyer_blp.before_request(require_buyer_before_request)


@merchant_blp.route("/orders/<order_id>/shipments")
class OrderShipments(MethodView):
    @merchant_blp.response(200, ShipmentSchema(many=True))
    def get(self, order_id):
        """The parcels of one of your orders, outbound and returns."""
        return shipments.list_for_order(router=router(), principal=current_principal(), order_id=order_id)

    @merchant_blp.arguments(NewShipmentSchema())
    @merchant_blp.response(201, ShipmentSchema)
    @merchant_blp.alt_response(409, description="The order is not paid, or shipped already")
    @merchant_blp.doc(parameters=[idempotency.OPENAPI_HEADER])
    def post(self, data, order_id):
        """A parcel of a paid order with its own tracking number and postage (the order goes in fulfilment)."""
        return shipments.create(router=router(), principal=current_principal(), order_id=order_id,
                                idempotency_key=request.headers.get("Idempotency-Key"), **data)


@merchant_blp.route("/orders/<order_id>/returns")
class OrderReturns(MethodView):
    @merchant_blp.arguments(NewReturnSchema())
    @merchant_blp.response(201, ShipmentSchema)
    @merchant_blp.alt_response(409, description="The order is not delivered")
    @merchant_blp.doc(parameters=[idempotency.OPENAPI_HEADER])
    def post(self, data, order_id):
        """Authorise the return of a delivered order: a return parcel with its own tracking number and label."""
        return shipments.authorise_return(router=router(), principal=current_principal(), order_id=order_id,
                                          idempotency_key=request.headers.get("Idempotency-Key"), **data)


@merchant_blp.route("/shipments/exceptions")
class ShipmentExceptions(MethodView):
    @merchant_blp.response(200, ShipmentSchema(many=True))
    def get(self):
        """Your parcels that need attention: held by customs, delivery failed, or coming back."""
        return shipments.exceptions(router=router(), principal=current_principal())


@merchant_blp.route("/shipments/<shipment_id>")
class OneShipment(MethodView):
    @merchant_blp.response(200, ShipmentDetailSchema)
    def get(self, shipment_id):
        """One of your parcels with its tracking timeline, by event time."""
        shipment, timeline = shipments.get(router=router(), principal=current_principal(), shipment_id=shipment_id)
        return {"shipment": shipment, "timeline": timeline}


@merchant_blp.route("/shipments/<shipment_id>/label")
class ShipmentLabel(MethodView):
    @merchant_blp.response(200, content_type="application/pdf", description="The label, one A6 page")
    def get(self, shipment_id):
        """The parcel's label as PDF: addresses, service, weight, the tracking number as a Code 128 barcode."""
        shipment, pdf = shipments.label(router=router(), principal=current_principal(), shipment_id=shipment_id)
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{shipment.tracking_number}.pdf"'})


@merchant_blp.route("/shipments/<shipment_id>/customs-form")
class CustomsForm(MethodView):
    @merchant_blp.arguments(CustomsArgsSchema(), location="query", unknown=RAISE)
    @merchant_blp.response(200, content_type="application/pdf", description="The CN22 (A6) or CN23 form")
    @merchant_blp.alt_response(409, description="The parcel crosses no border: it needs no customs form")
    def get(self, args, shipment_id):
        """The parcel's customs declaration as PDF: CN22 up to 300 SDR, CN23 above, filled from the order's lines."""
        form = shipments.customs_form(router=router(), principal=current_principal(), shipment_id=shipment_id, **args)
        return Response(form, mimetype="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="customs-{shipment_id}.pdf"'})


@merchant_blp.route("/shipments/<shipment_id>/advance-data")
class AdvanceData(MethodView):
    @merchant_blp.arguments(CustomsArgsSchema(), location="query", unknown=RAISE)
    @merchant_blp.response(200, AdvanceDataSchema)
    @merchant_blp.alt_response(409, description="The parcel crosses no border: it needs no customs data")
    def get(self, args, shipment_id):
        """The parcel's electronic advance data (ITMATT-like JSON) for the destination's customs."""
        return shipments.advance_data(router=router(), principal=current_principal(), shipment_id=shipment_id, **args)


@merchant_blp.route("/shipments/<shipment_id>/hand-over")
class HandOver(MethodView):
    @merchant_blp.arguments(HandOverSchema())
    @merchant_blp.response(200, ShipmentSchema)
    @merchant_blp.alt_response(409, description="The order cannot ship (cancelled meanwhile)")
    def post(self, data, shipment_id):
        """The parcel is with the post: the order becomes shipped."""
        return shipments.hand_over(router=router(), principal=current_principal(), shipment_id=shipment_id)


@buyer_blp.route("/orders/<order_id>/parcels")
class BuyerParcels(MethodView):
    @buyer_blp.response(200, BuyerParcelSchema(many=True))
    def get(self, order_id):
        """Where the parcels of one of your orders are: each with its tracking timeline."""
        return tracking.for_buyer(router=router(), buyer=require_buyer(), order_id=order_id)
