"""The PDF label of one parcel: sender, addressee, service, weight and size, and the tracking number
as a Code 128 barcode with its human-readable line under it (what counter staff and sorting
machines scan). One A6 page per parcel, drawn with reportlab. A pure renderer: what the
postman collects on a cash-on-delivery parcel is worked out by the caller (payments) and
passed in."""

from __future__ import annotations

import io

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import createBarcodeDrawing
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from logistics import rates
from logistics.models import Shipment
from marketplace.money import Money


def pdf(shipment: Shipment, *, cash_on_delivery: dict | None = None) -> bytes:
    """The label as PDF bytes; `cash_on_delivery` ({"amount_minor", "currency"}, as
    payments.service.cash_due gives it) is printed large for the postman to collect."""
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A6, pageCompression=1)
    page.setTitle(f"Label {shipment.tracking_number}")
    width, height = A6
    y = height - 12 * mm
    page.setFont("Helvetica-Bold", 12)
    page.drawString(8 * mm, y, f"{_service_name(shipment.service)} · {shipment.weight_g} g")
    if shipment.length_mm is not None:  # the size the counter measures the postage against
        page.setFont("Helvetica", 9)
        y -= 5 * mm
        page.drawString(8 * mm, y, f"{shipment.length_mm} × {shipment.width_mm} × {shipment.height_mm} mm"
                        + (f" · {shipment.billable_weight_g} g billed" if shipment.billable_weight_g != shipment.weight_g
                           else ""))
    y = _address(page, "From", shipment.sender, y - 9 * mm)
    y = _address(page, "To", shipment.addressee, y - 4 * mm)
    if cash_on_delivery:
        amount = Money(cash_on_delivery["amount_minor"], cash_on_delivery["currency"]).plain()
        page.setFont("Helvetica-Bold", 12)
        page.drawString(8 * mm, y - 8 * mm, f"CASH ON DELIVERY: {amount} {cash_on_delivery['currency']}")
    barcode = createBarcodeDrawing("Code128", value=shipment.tracking_number, barHeight=18 * mm, barWidth=0.33 * mm,
                                   humanReadable=False, quiet=True)
    x = (width - barcode.width) / 2
    renderPDF.draw(barcode, page, x, 20 * mm)
    page.setFont("Courier-Bold", 13)
    page.drawCentredString(width / 2, 13 * mm, _spaced(shipment.tracking_number))
    page.showPage()
    page.save()
    return out.getvalue()


def _service_name(service: str) -> str:
    return "Return parcel" if service == "return" else rates.services()[service].name


def _address(page, heading: str, address: dict, y: float) -> float:
    page.setFont("Helvetica-Bold", 8)
    page.drawString(8 * mm, y, heading.upper())
    page.setFont("Helvetica", 10)
    for part in ("recipient", "line1", "line2", "city", "postal_code", "country"):
        if address.get(part):
            y -= 4.5 * mm
            page.drawString(8 * mm, y, str(address[part])[:60])
    return y


def _spaced(number: str) -> str:
    """`CP 123 456 785 JM`: the grouping printed under S10 barcodes, easier to read aloud."""
    return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:11]} {number[11:]}"
