"""The signed-in merchant's terms of trade: the return window and the buyer companies it lets
pay by invoice on net terms. Staff may read them; changing them is the owner's (the services
refuse anyone else, 403), as in the merchant API."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from marketplace.buyers import terms
from marketplace.errors import InvalidInput, NotFound
from marketplace.orders import service as orders
from marketplace.platform import router
from marketplace.storefront import access, forms

blp = Blueprint("terms", __name__, url_prefix="/dashboard/terms")
blp.before_request(access.require_sign_in)
blp.after_request(access.no_store)


@blp.get("/")
def index():
    """Your return window and the companies you grant net terms."""
    return _page({}, {})


@blp.post("/return-window")
def return_window():
    """Set how many days after delivery buyers may ask for a return (owners)."""
    data, errors = forms.load(forms.ReturnWindowForm(), request.form)
    if not errors:
        try:
            orders.set_return_window(router=router(), principal=access.principal(), days=data["return_window_days"])
        except InvalidInput as exc:
            errors = exc.errors
        else:
            flash(f"Buyers may ask for a return up to {data['return_window_days']} days after delivery.")
            return redirect(url_for(".index"), 303)
    return _page(request.form.to_dict(), errors), 422


@blp.post("/net-terms")
def grant():
    """Let a buyer company pay by invoice within 30 or 60 days (owners)."""
    data, errors = forms.load(forms.NetTermsForm(), request.form)
    if not errors:
        try:
            terms.grant(router=router(), principal=access.principal(), company_id=data["company_id"], days=data["days"])
        except InvalidInput as exc:
            errors = exc.errors
        except NotFound as exc:
            errors = {"company_id": [exc.detail]}
        else:
            flash(f"{data['company_id']} may pay by invoice within {data['days']} days.")
            return redirect(url_for(".index"), 303)
    return _page(request.form.to_dict(), errors), 422


@blp.post("/net-terms/<company_id>/revoke")
def revoke(company_id: str):
    """Take a company's net terms away (owners)."""
    terms.revoke(router=router(), principal=access.principal(), company_id=company_id)
    flash(f"{company_id} no longer pays by invoice.")
    return redirect(url_for(".index"), 303)


def _page(values: dict, errors: dict):
    settings = orders.order_settings(router=router(), principal=access.principal())
    return render_template("dashboard/terms.html", values={**settings, **values}, errors=errors,
                           grants=terms.list_(router=router(), principal=access.principal()),
                           days_options=[(str(d), f"{d} days") for d in terms.allowed_days()],
                           owner=access.principal().is_owner)
