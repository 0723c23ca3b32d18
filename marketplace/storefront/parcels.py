"""The parcels of an order, from its dashboard page: make one, print its label, hand it over.

The same service functions as the merchant API (logistics.shipments) and the
API's own schema for a new parcel (NewShipmentSchema), so the rules and their messages are
written once: a weight or a side the schema or the service refuses is shown next to its field. Owners and
staff alike, as in the API: whoever packs the order ships it. An order ships only when one of
its parcels is handed over, so these forms are how a dashboard-only merchant ships at all.

The create form carries an idempotency key made when the page was drawn, so a double click or
a resubmitted page makes one parcel; handing over twice changes nothing (the service's rule).
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, url_for
from marshmallow import EXCLUDE
from werkzeug.datastructures import MultiDict

from logistics import shipments
from logistics.schemas import NewShipmentSchema
from marketplace.errors import Conflict, InvalidInput
from marketplace.orders import service as orders
from marketplace.platform import router
from marketplace.storefront import access, forms
from marketplace.storefront.orders import order_page

blp = Blueprint("parcels", __name__, url_prefix="/dashboard")
blp.before_request(access.require_sign_in)
blp.after_request(access.no_store)


@blp.post("/orders/<order_id>/parcels")
def create(order_id: str):
    """A parcel of this paid order, with its tracking number (the order goes in fulfilment)."""
    data, errors = forms.load(NewShipmentSchema(unknown=EXCLUDE), _sides_left_empty_dropped(request.form))
    status = 422
    if not errors:
        try:
            made = shipments.create(router=router(), principal=access.principal(), order_id=order_id,
                                    idempotency_key=request.form.get("idempotency_key") or None, **data)
        except InvalidInput as exc:
            errors = exc.errors or {"form": [exc.detail]}
        except Conflict as exc:
            errors, status = {"form": [exc.detail]}, exc.status
        else:
            flash(f"Parcel {made.tracking_number} is made: print its label, then hand it over to the post.")
            return redirect(url_for("storefront.orders.show", order_id=order_id), 303)
    order = orders.get_for_merchant(router=router(), principal=access.principal(), order_id=order_id)
    return order_page(order, parcel_values=request.form.to_dict(), parcel_errors=errors), status


def _sides_left_empty_dropped(form: MultiDict) -> MultiDict:
    """The form as the API's schema reads it: a side left empty is not given (the sides are
    optional), where the schema would refuse the empty text as not a number."""
    return MultiDict([(name, value) for name, value in form.items(multi=True)
                      if not (name in shipments.SIDES and not value.strip())])


@blp.get("/parcels/<shipment_id>/label")
def label(shipment_id: str):
    """The parcel's label, the PDF the merchant API serves (one A6 page with the barcode)."""
    shipment, pdf = shipments.label(router=router(), principal=access.principal(), shipment_id=shipment_id)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{shipment.tracking_number}.pdf"'})


@blp.get("/parcels/<shipment_id>/customs-form")
def customs_form(shipment_id: str):
    """The parcel's CN22 or CN23, the PDF the merchant API serves, with the default category of item."""
    pdf = shipments.customs_form(router=router(), principal=access.principal(), shipment_id=shipment_id)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="customs-{shipment_id}.pdf"'})


@blp.post("/parcels/<shipment_id>/hand-over")
def hand_over(shipment_id: str):
    """The parcel is with the post: the order becomes shipped. Pressing again changes nothing."""
    try:
        shipment = shipments.hand_over(router=router(), principal=access.principal(), shipment_id=shipment_id)
    except Conflict as exc:
        shipment, _ = shipments.get(router=router(), principal=access.principal(), shipment_id=shipment_id)
        order = orders.get_for_merchant(router=router(), principal=access.principal(), order_id=shipment.order_id)
        return order_page(order, error=exc.detail), exc.status
    flash(f"Parcel {shipment.tracking_number} is with the post.")
    return redirect(url_for("storefront.orders.show", order_id=shipment.order_id), 303)

