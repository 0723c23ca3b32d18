"""The public tracking page: a parcel's state and events by tracking number, as postal sites
show them (no names, no addresses: the number is printed on the parcel for anyone to read)."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from logistics import tracking
from marketplace.platform import router
from marketplace.storefront import i18n

blp = Blueprint("tracking_page", __name__)


@blp.get("/track")
def track():
    """Where is my parcel: the form, and the timeline of the number asked for."""
    g.lang = i18n.page_language()
    number = request.args.get("number", "").strip()[:40]
    found = tracking.public_timeline(router=router(), tracking_number=number) if number else None
    return render_template("storefront/tracking.html", number=number, found=found, codes=tracking.codes(),
                           lang=g.lang), (404 if number and found is None else 200)
