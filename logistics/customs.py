"""Customs declarations of a merchant order: the CN22 or CN23 form (PDF) and the ITMATT-like
electronic advance data, filled from the order's lines and the catalog's HS codes, origins and
weights (never from text typed at shipping time, trade.md).

Which form: CN22 while the contents are worth up to 300 SDR (data/customs.toml), CN23 above that
or when the sender asks for it. The shipments side calls these three functions with the item's
S10 number; they read the merchant's shard and write nothing.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from reportlab.lib.pagesizes import A6, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from marketplace.catalog.models import Variant
from marketplace.errors import InvalidInput
from marketplace.merchants.models import Merchant
from marketplace.money import Money
from payments import fx

DATA = Path(__file__).with_name("data")
DESCRIPTION_ON_FORM = 60  # characters that fit the printed line; the advance data carries it whole


@dataclass(frozen=True)
class DeclaredLine:
    description: str
    quantity: int
    net_weight_g: int  # the line's, all units
    value: int  # minor units of the declaration's currency
    hs_code: str
    origin_country: str


@dataclass(frozen=True)
class Declaration:
    form: str  # "CN22" | "CN23"
    category: str
    order_id: str
    sender: dict
    addressee: dict
    currency: str
    lines: tuple[DeclaredLine, ...]
    postage: int
    value_sdr: Decimal

    @property
    def total_value(self) -> int:
        return sum(line.value for line in self.lines)

    @property
    def total_weight_g(self) -> int:
        return sum(line.net_weight_g for line in self.lines)


@cache
def settings() -> dict:
    return tomllib.loads((DATA / "customs.toml").read_text(encoding="utf-8"))


def in_sdr(amount: int, currency: str) -> Decimal:
    """`amount` minor units of `currency` in SDR, to the hundredth, at the reference rates."""
    usd = Money(fx.rates().convert(amount, currency, "USD"), "USD").decimal()
    return (usd / Decimal(settings()["usd_per_sdr"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def customs_declaration(session, merchant_order, *, category: str = "sale_of_goods", cn23: bool = False) -> Declaration:
    """In a unit of work on the merchant's shard: the declaration for the order's parcel."""
    if category not in settings()["categories"]:
        raise InvalidInput(f"Unknown category of item {category!r}.",
                           errors={"category": [f"one of {', '.join(settings()['categories'])}"]})
    lines = []
    for line in merchant_order.lines:
        variant = session.get(Variant, line["variant_id"])
        lines.append(DeclaredLine(line.get("name") or line["sku"], line["quantity"], variant.weight_g * line["quantity"],
                                  line["total"], variant.hs_code, variant.origin_country))
    merchant = session.get(Merchant, merchant_order.merchant_id)
    value_sdr = in_sdr(sum(line.value for line in lines), merchant_order.currency)
    form = "CN23" if cn23 or value_sdr > settings()["cn22_max_sdr"] else "CN22"
    return Declaration(form, category, merchant_order.id,
                       {"name": merchant.legal_name or merchant.name, "country": merchant.home_country},
                       dict(merchant_order.ship_to), merchant_order.currency, tuple(lines),
                       merchant_order.shipping_amount, value_sdr)


def itmatt(declaration: Declaration, *, item_id: str, posted_at: datetime | None = None) -> dict:
    """The electronic advance data for one item: our JSON schema, modelled on UPU ITMATT's fields."""
    return {
        "schema": "cpu-itmatt/1",
        "item_id": item_id,
        "declaration_form": declaration.form,
        "category_of_item": declaration.category,
        "order_reference": declaration.order_id,
        "posted_at": posted_at.isoformat() if posted_at else None,
        "sender": declaration.sender,
        "addressee": declaration.addressee,
        "destination_country": declaration.addressee.get("country"),
        "currency": declaration.currency,
        "total_value": declaration.total_value,
        "postage": declaration.postage,
        "total_net_weight_g": declaration.total_weight_g,
        "contents": [asdict(line) for line in declaration.lines],
    }


def cn_form_pdf(declaration: Declaration, *, item_id: str | None = None) -> bytes:
    """The printable CN22 (label-sized) or CN23 form, one page."""
    buffer = io.BytesIO()
    size = landscape(A6) if declaration.form == "CN22" else landscape((210 * mm, 297 * mm))
    page = canvas.Canvas(buffer, pagesize=size, pageCompression=0)
    page.setTitle(f"{declaration.form} {item_id or declaration.order_id}")
    width, height = size
    y = height - 12 * mm

    def write(text: str, *, x: float = 8 * mm, font: str = "Helvetica", points: int = 8) -> None:
        nonlocal y
        if y < 8 * mm:  # a long declaration goes on over further pages
            page.showPage()
            y = height - 12 * mm
        page.setFont(font, points)
        page.drawString(x, y, text)
        y -= points * 1.5

    write(f"{declaration.form[:2]} {declaration.form[2:]}  CUSTOMS DECLARATION", font="Helvetica-Bold", points=11)
    write("May be opened officially. Caribbean Postal Union member operator.")
    if item_id:
        write(f"Item: {item_id}", font="Helvetica-Bold")
    write(f"From: {declaration.sender['name']} ({declaration.sender['country']})")
    to = declaration.addressee
    write("To: " + ", ".join(str(to[k]) for k in ("recipient", "line1", "city", "country") if to.get(k)))
    write("  ".join(f"[{'X' if code == declaration.category else ' '}] {label}" for code, label in settings()["categories"].items()))
    write("Detailed description | Qty | Net weight (kg) | Value | HS tariff no. | Origin", font="Helvetica-Bold")
    for line in declaration.lines:
        write(f"{line.description[:DESCRIPTION_ON_FORM]} | {line.quantity} | {line.net_weight_g / 1000:.3f} | "
              f"{Money(line.value, declaration.currency).plain()} {declaration.currency} | {line.hs_code} | {line.origin_country}")
    write(f"Total net weight (kg): {declaration.total_weight_g / 1000:.3f}   Total value: "
          f"{Money(declaration.total_value, declaration.currency).plain()} {declaration.currency} ({declaration.value_sdr} SDR)",
          font="Helvetica-Bold")
    if declaration.form == "CN23":
        write(f"Postal charges/fees: {Money(declaration.postage, declaration.currency).plain()} {declaration.currency}")
    write("I certify that the particulars given in this declaration are correct and that this item does not contain")
    write("any dangerous article prohibited by legislation or by postal or customs regulations.")
    write("Date and sender's signature: ______________________")
    page.showPage()
    page.save()
    return buffer.getvalue()
