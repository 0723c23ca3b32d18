"""The buyer's cart, in the buyer's region: lines from any merchant in any region.

Prices: every line is priced by the catalog's one function (catalog.service.offer_in ->
pricing.price_for) for this buyer, in the merchant's region, because only that region may
read the merchant's terms. A process that serves the merchant's region (the embedded default
serves all) quotes the line when it is put in the cart, so MOQ, case-pack and shipping refusals
come at once, saying which quantity would be accepted. Elsewhere the line is kept unquoted, and
the checkout's order request re-prices every line in the merchant's region anyway: the answer
carries the authoritative price. The cart therefore shows the last quote and when it was made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict

from sqlalchemy import delete, select

from marketplace.buyers.identity import BuyerPrincipal
from marketplace.catalog import service as catalog
from marketplace.errors import InvalidInput, NotFound
from marketplace.orders.models import CartLine
from marketplace.regions.base import database_now
from marketplace.regions.ids import is_id
from marketplace.regions.router import Router
from logistics import service as logistics
from payments import fx

MAX_LINES = 100


def put_line(*, router: Router, buyer: BuyerPrincipal, merchant_id: str, variant_id: str, quantity: int) -> dict:
    """Put `quantity` of a merchant's variant in the cart (replacing the line's quantity)."""
    merchant_region = router.region_of(merchant_id) if is_id(merchant_id, "mer") else None
    if merchant_region is None:
        raise NotFound(f"No merchant {merchant_id}.")
    quote = None
    if merchant_region in router.served_regions:
        with router.unit_of_work(merchant_region, read_only=True) as uow:
            offer = catalog.offer_in(uow.session, merchant_id=merchant_id, variant_id=variant_id, quantity=quantity,
                                     company_id=buyer.company_id, ship_to=buyer.country)
        quote = {**asdict(offer.quote), "sku": offer.sku, "weight_g": offer.weight_g, "ships_from": offer.ships_from,
                 **offer.customs}
    with router.unit_of_work(buyer.region) as uow:
        now = database_now(uow.session)
        line = uow.session.get(CartLine, (buyer.buyer_id, variant_id))
        if line is None:
            count = len(uow.session.scalars(select(CartLine.variant_id).where(CartLine.buyer_id == buyer.buyer_id)).all())
            if count >= MAX_LINES:
                raise InvalidInput(f"A cart holds at most {MAX_LINES} lines.", errors={"variant_id": [f"at most {MAX_LINES} lines"]})
            line = CartLine(buyer_id=buyer.buyer_id, variant_id=variant_id, region=buyer.region, added_at=now)
            uow.session.add(line)
        line.merchant_id, line.merchant_region, line.quantity = merchant_id, merchant_region, quantity
        line.quote, line.quoted_at = quote, (now if quote else None)
        uow.commit()
    return view(router=router, buyer=buyer)


def remove_line(*, router: Router, buyer: BuyerPrincipal, variant_id: str) -> None:
    """Take a variant out of the cart (not there: 404)."""
    with router.unit_of_work(buyer.region) as uow:
        gone = uow.session.execute(delete(CartLine).where(CartLine.buyer_id == buyer.buyer_id,
                                                          CartLine.variant_id == variant_id)).rowcount
        if not gone:
            raise NotFound(f"No line of {variant_id} in your cart.")
        uow.commit()


def lines_in(session, buyer_id: str) -> list[CartLine]:
    return list(session.scalars(select(CartLine).where(CartLine.buyer_id == buyer_id)
                                .order_by(CartLine.merchant_id, CartLine.added_at, CartLine.variant_id)))


def view(*, router: Router, buyer: BuyerPrincipal) -> dict:
    """The cart: lines with their last quote, and per merchant the goods, the landed cost of its
    parcel (logistics) and both in the buyer's currency (reference rates, with their date)."""
    with router.unit_of_work(buyer.region, read_only=True) as uow:
        lines = lines_in(uow.session, buyer.buyer_id)
    by_merchant: dict[str, list[CartLine]] = defaultdict(list)
    for line in lines:
        by_merchant[line.merchant_id].append(line)
    merchants = [_merchant_totals(merchant_id, group, buyer) for merchant_id, group in by_merchant.items()]
    known = [m for m in merchants if m["landed"] is not None]
    return {
        "lines": [_line(line) for line in lines],
        "merchants": merchants,
        "total": {"amount_minor": sum(m["landed_in_buyer_currency"]["amount_minor"] for m in known), "currency": buyer.currency}
        if known and len(known) == len(merchants) else None,
        "rates_effective": fx.rates().effective.isoformat(),
    }


def _line(line: CartLine) -> dict:
    return {"merchant_id": line.merchant_id, "merchant_region": line.merchant_region, "variant_id": line.variant_id,
            "quantity": line.quantity, "quote": line.quote, "quoted_at": line.quoted_at}


def _merchant_totals(merchant_id: str, group: list[CartLine], buyer: BuyerPrincipal) -> dict:
    quoted = [line.quote for line in group if line.quote]
    answer = {"merchant_id": merchant_id, "merchant_region": group[0].merchant_region, "quoted": len(quoted) == len(group),
              "goods": None, "landed": None, "landed_in_buyer_currency": None, "cannot_ship": None}
    if not answer["quoted"]:
        return answer  # priced by the merchant's region at checkout
    currency = quoted[0]["currency"]
    goods = sum(q["total"] for q in quoted)
    answer["goods"] = {"amount_minor": goods, "currency": currency}
    try:
        cost = parcel_cost(ships_from=quoted[0]["ships_from"], ship_to=buyer.country, currency=currency,
                           lines=[{**q, "quantity": line.quantity} for q, line in zip(quoted, group)])
    except logistics.NoServiceFits as exc:
        return {**answer, "cannot_ship": exc.detail}
    answer.update(landed=cost,
                  landed_in_buyer_currency={"amount_minor": fx.rates().convert(cost["total"], currency, buyer.currency),
                                            "currency": buyer.currency})
    return answer


def parcel_cost(*, ships_from: str, ship_to: str, currency: str, lines: list[dict]) -> dict:
    """One merchant parcel's landed cost (logistics), as the cart and the orders show it. Each
    line: its quantity, total and the offer's weight, measures, HS code and origin."""
    parcel = logistics.Parcel(ships_from, ship_to, currency, tuple(logistics.ParcelLine(
        line["quantity"], line["total"], line["weight_g"], line["length_mm"], line["width_mm"], line["height_mm"],
        line["hs_code"], line["origin_country"]) for line in lines))
    cost = logistics.landed_cost(parcel)
    return {"goods": cost.goods, "shipping": cost.shipping, "insurance": cost.insurance, "duties": cost.duties,
            "taxes": cost.taxes, "total": cost.total, "currency": currency, "service": cost.service,
            "basis": cost.basis, "customs": cost.customs}
