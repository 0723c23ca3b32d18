"""Catalog use cases for a merchant (by Principal) and the public reads of storefronts.

`product_problems` and `write_product` are shared by the JSON API, the dashboard and the
bulk import, so a product is held to the same rules whichever way it arrives.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from marketplace.bounds import BOUNDS
from marketplace.buyers import directory as buyer_directory
from marketplace.catalog import pricing, records, taxonomy
from marketplace.catalog.models import VISIBILITIES, PriceList, Product, Variant
from marketplace.errors import Conflict, DomainError, InvalidInput, NotFound
from marketplace.inventory import service as inventory
from marketplace.inventory.errors import BelowReserved
from marketplace.merchants.auth import Principal
from marketplace.merchants.models import Merchant
from marketplace.regions import idempotency, outbox
from marketplace.regions.base import utcnow
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.regionmap import is_iso_country
from marketplace.regions.router import Router

HS_CODE = re.compile(r"^\d{6,10}$")
HS_CODE_RULE = "6 to 10 digits (the first 6 are the international HS heading)"
MAX_TEXT = 20_000
LANGUAGES = ("en", "es", "fr", "nl")
PHYSICAL_MAXIMA = {"weight_g": BOUNDS.max_weight_g, "length_mm": BOUNDS.max_dimension_mm,
                   "width_mm": BOUNDS.max_dimension_mm, "height_mm": BOUNDS.max_dimension_mm}


class ProductNotFound(NotFound):
    def __init__(self, product_id: str):
        super().__init__(f"No product {product_id}.")


class StaleRevision(DomainError):
    """The caller's copy of a product is older than the stored one (a stale If-Match)."""

    status = 412
    title = "Precondition failed"
    slug = "precondition-failed"

    def __init__(self, product_id: str, revision: int):
        super().__init__(f"Product {product_id} was changed meanwhile; it is at revision {revision} now. "
                         f"Read it again, then apply your change to that.")
        self.revision = revision

    def extra(self) -> dict[str, object]:
        return {"revision": self.revision}


class ChangedMeanwhile(Conflict):
    def __init__(self, product_id: str):
        super().__init__(f"Product {product_id} was changed by another request at the same time; read it again and retry.")


def terms_of(variant: Variant) -> pricing.VariantTerms:
    return pricing.VariantTerms(
        variant_id=variant.id, currency=variant.currency, base_price=variant.base_price,
        tiers=tuple(pricing.Tier(t["min_quantity"], t["unit_price"]) for t in variant.tiers),
        moq=variant.moq, case_pack=variant.case_pack,
    )


def product_problems(data: dict) -> dict[str, list[str]]:
    """Everything wrong with a product and its variants, by field path."""
    problems: dict[str, list[str]] = {}

    def add(name, message):
        problems.setdefault(name, []).append(message)

    if data["category"] not in taxonomy.categories():
        add("category", f"unknown category {data['category']!r}")
    if data["visibility"] not in VISIBILITIES:
        add("visibility", f"one of {', '.join(VISIBILITIES)}")
    for field in ("title", "description"):
        for language, text in data[field].items():
            if language not in LANGUAGES:
                add(f"{field}.{language}", f"language must be one of {', '.join(LANGUAGES)}")
            elif len(text) > MAX_TEXT:
                add(f"{field}.{language}", f"at most {MAX_TEXT} characters")
    if not any(text.strip() for text in data["title"].values()):
        add("title", "a title in at least one language")
    bad = [c for c in data["ships_to_exclusions"] if not is_iso_country(c)]
    if bad:
        add("ships_to_exclusions", f"unknown country codes {bad}")
    if not data["variants"]:
        add("variants", "at least one variant")
    skus = [v["sku"] for v in data["variants"]]
    if len(skus) != len(set(skus)):
        add("variants", "SKUs must be unique")
    for n, variant in enumerate(data["variants"]):
        for name, messages in variant_problems(variant).items():
            problems.setdefault(f"variants.{n}.{name}", []).extend(messages)
    return problems


def variant_problems(variant: dict) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not HS_CODE.match(variant["hs_code"]):
        problems["hs_code"] = [HS_CODE_RULE]
    if not is_iso_country(variant["origin_country"]):
        problems["origin_country"] = ["an ISO 3166-1 alpha-2 country code"]
    for name, most in PHYSICAL_MAXIMA.items():
        if variant[name] <= 0:
            problems[name] = ["must be more than 0"]
        elif variant[name] > most:
            problems[name] = [f"must be at most {most:,}"]
    if any(units < 0 for units in variant["stock"].values()):
        problems["stock"] = ["stock must not be negative"]
    elif any(units > pricing.MAX_QUANTITY for units in variant["stock"].values()):
        problems["stock"] = [f"at most {pricing.MAX_QUANTITY:,} units at each location"]
    terms = pricing.VariantTerms(
        # Neither id nor currency exists yet (both are set on writing); terms_problems reads neither.
        variant_id="", currency="XXX", base_price=variant["base_price"],
        tiers=tuple(pricing.Tier(t["min_quantity"], t["unit_price"]) for t in variant["tiers"]),
        moq=variant["moq"], case_pack=variant["case_pack"],
    )
    problems.update(pricing.terms_problems(terms))
    return problems


def write_product(session: Session, merchant: Merchant, data: dict, product: Product | None) -> tuple[Product, bool]:
    """Create or replace a product and its variants in the open unit of work.

    Returns the product and whether anything changed; an unchanged product is not touched,
    so importing the same file twice changes nothing the second time.
    """
    if product is None:
        product = Product(id=new_id("prd"), region=merchant.region, merchant_id=merchant.id, ref=data["ref"])
        session.add(product)
    changed = _assign(product, {k: data[k] for k in ("ref", "category", "title", "description", "image_urls", "visibility", "ships_to_exclusions")})
    by_sku = {v.sku: v for v in product.variants}
    for n, fields in enumerate(data["variants"]):
        variant = by_sku.pop(fields["sku"], None)
        if variant is None:
            variant = Variant(id=new_id("var"), region=merchant.region, merchant_id=merchant.id, currency=merchant.default_currency)
            product.variants.append(variant)
            changed = True
        changed |= _assign(variant, {k: v for k, v in fields.items() if k != "stock"})
        try:
            changed |= inventory.write_counts(session, variant, fields.get("stock", {}))
        except BelowReserved as exc:  # named where the product body (or the dashboard form) has it
            exc.errors = {f"variants.{n}.stock": exc.errors["on_hand"]}
            raise
    for gone in by_sku.values():
        product.variants.remove(gone)
        changed = True
    if changed:
        product.updated_at = utcnow()
        outbox.publish(session, "catalog.product.changed", {"product_id": product.id, "merchant_id": merchant.id})
    return product, changed


def stock_changed(session: Session, variant_ids: list[str], *, announce: bool) -> None:
    """Stock of these variants changed (inventory.service calls this): their products' revision
    goes up, so a product PUT or dashboard form made from an older read (If-Match, hidden
    field) is refused rather than undoing a sale; with `announce` (a variant ran out or came
    back) search re-indexes them. In the open unit of work, after the stock rows were locked."""
    products = session.execute(select(Variant.product_id, Variant.merchant_id).where(Variant.id.in_(variant_ids))
                               .distinct().order_by(Variant.product_id)).all()
    for product_id, merchant_id in products:
        session.execute(update(Product).where(Product.id == product_id).values(revision=Product.revision + 1, updated_at=utcnow()))
        if announce:
            outbox.publish(session, "catalog.product.changed", {"product_id": product_id, "merchant_id": merchant_id})


def revise_merchant_products(session: Session, merchant_id: str) -> None:
    """Bump the revision of every product of the merchant, in the open unit of work: for a
    change of the merchant that shows on each product's public face (the trading name is on
    every search document). A document read after the change then carries a higher version
    than any read before it, so the search index keeps the new one whichever lands last."""
    session.execute(update(Product).where(Product.merchant_id == merchant_id).values(revision=Product.revision + 1))


def _assign(obj, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name, None) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def create_product(*, router: Router, principal: Principal, data: dict, idempotency_key: str | None = None) -> Product:
    """Add a product with its variants; a retry under the same idempotency key returns it."""
    _check(data)
    once = _Once(router, principal, "catalog.product.create", idempotency_key, data, fetch=lambda s, i: s.get(Product, i))
    if (done := once.replayed()) is not None:
        return done
    with once.guard(), router.unit_of_work(principal.region) as uow:
        merchant = uow.session.get(Merchant, principal.merchant_id)
        if uow.session.scalar(select(Product.id).where(Product.merchant_id == merchant.id, Product.ref == data["ref"])):
            raise Conflict(f"A product with ref {data['ref']!r} exists already.", errors={"ref": ["already used"]})
        _refuse_sku_clash(uow.session, merchant.id, data, product_id=None)
        product, _ = write_product(uow.session, merchant, data, None)
        once.remember(uow.session, product.id)
        uow.commit()
    return once.result if once.result is not None else product


def replace_product(*, router: Router, principal: Principal, product_id: str, data: dict,
                    expected_revision: int | None = None) -> Product:
    """Replace a product and its set of variants (variants are matched by SKU). With
    `expected_revision` (the API's If-Match, the dashboard form's hidden field) a product
    changed since the caller read it is StaleRevision, never silently overwritten."""
    _check(data)
    try:
        with router.unit_of_work(principal.region) as uow:
            product = _own_product(uow.session, principal, product_id)
            if expected_revision is not None and product.revision != expected_revision:
                raise StaleRevision(product_id, product.revision)
            _refuse_sku_clash(uow.session, principal.merchant_id, data, product_id=product.id)
            write_product(uow.session, uow.session.get(Merchant, principal.merchant_id), data, product)
            uow.commit()
    except StaleDataError as exc:  # another write of the row committed between our read and our update
        raise ChangedMeanwhile(product_id) from exc
    return product


def delete_product(*, router: Router, principal: Principal, product_id: str) -> None:
    with router.unit_of_work(principal.region) as uow:
        product = _own_product(uow.session, principal, product_id)
        uow.session.delete(product)
        outbox.publish(uow.session, "catalog.product.changed", {"product_id": product_id, "merchant_id": principal.merchant_id})
        uow.commit()


def get_product(*, router: Router, principal: Principal, product_id: str) -> records.ProductRecord:
    """One of the merchant's products, with its variants, as read (see catalog.records)."""
    if not is_id(product_id, "prd"):
        raise ProductNotFound(product_id)
    with router.unit_of_work(principal.region, read_only=True) as uow:
        rows = uow.read(records.OWN_PRODUCT, {"product_id": product_id, "merchant_id": principal.merchant_id}).all()
    product = records.product_of(rows)
    if product is None:
        raise ProductNotFound(product_id)
    return product


def list_products(*, router: Router, principal: Principal, offset: int = 0, limit: int = 50) -> tuple[list[Product], int]:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        where = Product.merchant_id == principal.merchant_id
        total = uow.session.scalar(select(func.count()).select_from(Product).where(where))
        products = uow.session.scalars(select(Product).where(where).order_by(Product.ref).offset(offset).limit(limit)).all()
        return list(products), total


def _own_product(session: Session, principal: Principal, product_id: str) -> Product:
    product = session.get(Product, product_id) if is_id(product_id, "prd") else None
    if product is None or product.merchant_id != principal.merchant_id:
        raise ProductNotFound(product_id)
    return product


def _check(data: dict) -> None:
    problems = product_problems(data)
    if problems:
        raise InvalidInput("The product is not valid.", errors=problems)


def _refuse_sku_clash(session: Session, merchant_id: str, data: dict, *, product_id: str | None) -> None:
    skus = [v["sku"] for v in data["variants"]]
    clash = session.scalars(
        select(Variant.sku).where(Variant.merchant_id == merchant_id, Variant.sku.in_(skus), Variant.product_id != (product_id or ""))
    ).all()
    if clash:
        raise Conflict("Some SKUs belong to another product.", errors={"variants": [f"SKU {s} is used by another product" for s in clash]})


# Price lists ---------------------------------------------------------------------------------

def create_price_list(*, router: Router, principal: Principal, data: dict, idempotency_key: str | None = None) -> PriceList:
    """A price list for named buyer companies (each must exist: its directory pointer, readable
    in every region, is asked; the company's data stays with it); a retry under the same
    idempotency key returns it."""
    problems = {}
    if data.get("percent_off_bp") is None and not data.get("contract_prices"):
        problems["percent_off_bp"] = ["give a percentage off or contract prices"]
    if data.get("percent_off_bp") is not None and not 0 < data["percent_off_bp"] < 10_000:
        problems["percent_off_bp"] = ["between 1 and 9999 basis points"]
    if data.get("valid_from") and data.get("valid_until") and data["valid_from"] > data["valid_until"]:
        problems["valid_until"] = ["must not be before valid_from"]
    if any(not 0 <= price <= pricing.MAX_UNIT_PRICE for price in data.get("contract_prices", {}).values()):
        problems["contract_prices"] = [f"prices from 0 to {pricing.MAX_UNIT_PRICE:,} minor units"]
    if not problems and (unknown := buyer_directory.unknown_companies(router=router, company_ids=data["company_ids"])):
        problems["company_ids"] = [f"no buyer company {company_id}" for company_id in unknown]
    if problems:
        raise InvalidInput("The price list is not valid.", errors=problems)
    once = _Once(router, principal, "catalog.price_list.create", idempotency_key, data, fetch=lambda s, i: s.get(PriceList, i))
    if (done := once.replayed()) is not None:
        return done
    with once.guard(), router.unit_of_work(principal.region) as uow:
        unknown = set(data.get("contract_prices", {})) - set(uow.session.scalars(
            select(Variant.id).where(Variant.merchant_id == principal.merchant_id, Variant.id.in_(list(data.get("contract_prices", {}))))
        ))
        if unknown:
            raise InvalidInput("Contract prices name unknown variants.", errors={"contract_prices": sorted(unknown)})
        price_list = PriceList(id=new_id("prl"), region=principal.region, merchant_id=principal.merchant_id, **data)
        uow.session.add(price_list)
        once.remember(uow.session, price_list.id)
        uow.commit()
    return once.result if once.result is not None else price_list


def list_price_lists(*, router: Router, principal: Principal) -> list[PriceList]:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        return list(uow.session.scalars(select(PriceList).where(PriceList.merchant_id == principal.merchant_id).order_by(PriceList.name)))


def delete_price_list(*, router: Router, principal: Principal, price_list_id: str) -> None:
    with router.unit_of_work(principal.region) as uow:
        price_list = uow.session.get(PriceList, price_list_id)
        if price_list is None or price_list.merchant_id != principal.merchant_id:
            raise NotFound(f"No price list {price_list_id}.")
        uow.session.delete(price_list)
        uow.commit()


def price_lists_as_terms(price_lists: list[PriceList]) -> list[pricing.PriceList]:
    return [
        pricing.PriceList(id=p.id, name=p.name, company_ids=frozenset(p.company_ids), valid_from=p.valid_from,
                          valid_until=p.valid_until, percent_off_bp=p.percent_off_bp, contract_prices=dict(p.contract_prices))
        for p in price_lists
    ]


def quote(*, router: Router, merchant_id: str, variant_id: str, quantity: int, company_id: str | None = None,
          today: date | None = None) -> pricing.Quote:
    """What this buyer pays for `quantity` of the variant today, and which rule applied."""
    region = router.region_of(merchant_id)
    if region is None:
        raise NotFound(f"No merchant {merchant_id}.")
    with router.unit_of_work(region, read_only=True) as uow:
        return offer_in(uow.session, merchant_id=merchant_id, variant_id=variant_id, quantity=quantity,
                        company_id=company_id, today=today).quote


@dataclass(frozen=True)
class Offer:
    """What a cart or an order needs of one line, read in the merchant's region."""
    quote: pricing.Quote
    sku: str
    weight_g: int
    ships_from: str  # the merchant's home country
    name: str  # the product's title in the merchant's own language, for orders and their notices
    customs: dict  # hs_code, origin_country and the measures that postage and duties need (logistics)


class CannotShip(InvalidInput):
    def __init__(self, variant_id: str, country: str):
        super().__init__(f"This item does not ship to {country}.", errors={"variant_id": [f"does not ship to {country}"]})
        self.variant_id, self.country = variant_id, country


def offer_in(session: Session, *, merchant_id: str, variant_id: str, quantity: int, company_id: str | None = None,
             today: date | None = None, ship_to: str | None = None) -> Offer:
    """In an open unit of work on the merchant's shard: the price this buyer pays (price_for),
    after the MOQ and case-pack check (QuantityRefused says what would be accepted) and, with
    `ship_to`, the merchant's shipping exclusions (CannotShip)."""
    variant = session.get(Variant, variant_id) if is_id(variant_id, "var") else None
    if variant is None or variant.merchant_id != merchant_id or variant.product.visibility == "hidden":
        raise NotFound(f"No variant {variant_id}.")
    if ship_to is not None and ship_to in (variant.product.ships_to_exclusions or []):
        raise CannotShip(variant_id, ship_to)
    lists = session.scalars(select(PriceList).where(PriceList.merchant_id == merchant_id)).all() if company_id else []
    quoted = pricing.price_for(terms_of(variant), quantity=quantity, today=today or date.today(), company_id=company_id,
                               price_lists=price_lists_as_terms(list(lists)))
    merchant = session.get(Merchant, merchant_id)
    titles = variant.product.title or {}
    name = titles.get(merchant.default_language) or next(iter(titles.values()), variant.sku)
    customs = {"hs_code": variant.hs_code, "origin_country": variant.origin_country, "length_mm": variant.length_mm,
               "width_mm": variant.width_mm, "height_mm": variant.height_mm}
    return Offer(quoted, variant.sku, variant.weight_g, merchant.home_country, name, customs)


# Public reads (storefront) ------------------------------------------------------------------

def public_products(*, router: Router, merchant: Merchant, category: str | None = None) -> list[Product]:
    with router.unit_of_work(merchant.region, read_only=True) as uow:
        products = uow.session.scalars(
            select(Product).where(Product.merchant_id == merchant.id, Product.visibility == "public").order_by(Product.ref)
        ).all()
    return [p for p in products if category is None or taxonomy.in_subtree(p.category, category)]


def public_product(*, router: Router, merchant: Merchant, product_id: str) -> Product:
    with router.unit_of_work(merchant.region, read_only=True) as uow:
        product = uow.session.get(Product, product_id) if is_id(product_id, "prd") else None
        if product is None or product.merchant_id != merchant.id or product.visibility != "public":
            raise ProductNotFound(product_id)
        return product


class _Once:
    """An idempotency key around one merchant write: the earlier result when the key was used
    for this request before, remembered with the write, and (`guard`) the winner's result
    when a concurrent retry committed first."""

    def __init__(self, router: Router, principal: Principal, operation: str, key: str | None, data: dict, *, fetch):
        self.router, self.region = router, principal.region
        self.scope = idempotency.merchant_scope(operation, principal.merchant_id)
        self.key = idempotency.checked_key(key)
        self.request = idempotency.fingerprint(data)
        self.fetch = fetch
        self.result = None

    def replayed(self):
        return idempotency.replayed(self.router, self.region, scope=self.scope, key=self.key,
                                    request_fingerprint=self.request, fetch=self.fetch)

    def remember(self, session: Session, resource_id: str) -> None:
        if self.key is not None:
            idempotency.remember(session, scope=self.scope, key=self.key, request_fingerprint=self.request,
                                 resource_id=resource_id)

    @contextmanager
    def guard(self):
        try:
            yield
        except (IntegrityError, Conflict):  # a unique key hit: perhaps the same request, committed meanwhile
            self.result = self.replayed()
            if self.result is None:
                raise
