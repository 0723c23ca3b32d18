"""Shapes of the buyers' catalog API (catalog.public_api). Prices are integer minor units:
`currency` is the merchant's, `display` the same price in the buyer's display currency."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from marketplace.catalog import stock
from marketplace.catalog.service import LANGUAGES
from marketplace.codes import ISO_COUNTRY
from payments import fx

PAGING = stock.public_settings()["paging"]


class BuyerArgsSchema(Schema):
    """Who is asking, for an anonymous caller (a signed-in buyer's own profile fills the gaps)."""
    lang = fields.String(validate=validate.OneOf(LANGUAGES), metadata={
        "description": "the language wanted; wins over Accept-Language"})
    country = fields.String(validate=ISO_COUNTRY, metadata={"description": "the buyer's country: ships-to and default display currency"})
    currency = fields.String(validate=validate.OneOf(sorted(fx.rates().per_usd), error="a currency with a reference rate"),
                             metadata={"description": "the display currency (default: the country's, else the merchant's)"})


class ListingArgsSchema(BuyerArgsSchema):
    cursor = fields.String(validate=validate.Length(min=1, max=200),
                           metadata={"description": "`next_cursor` of the previous page; opaque"})
    limit = fields.Integer(load_default=PAGING["default_limit"], validate=validate.Range(min=1, max=PAGING["max_limit"]))


class ConvertedSchema(Schema):
    currency = fields.String(required=True)
    unit_price = fields.Integer(required=True)
    total = fields.Integer(required=True)
    rate = fields.String(required=True, metadata={"description": "units of `currency` per unit of the merchant's, as a decimal"})
    rate_as_of = fields.String(required=True, metadata={"format": "date-time", "description": "when the reference rate was taken (UTC)"})


class BuyerPriceSchema(Schema):
    quantity = fields.Integer(required=True, metadata={"description": "the quantity this price is for"})
    unit_price = fields.Integer(required=True)
    total = fields.Integer(required=True)
    currency = fields.String(required=True)
    rule = fields.String(required=True, validate=validate.OneOf(["base", "tier", "contract", "percent_off"]))
    explanation = fields.String(required=True)
    price_list_id = fields.String(allow_none=True)
    display = fields.Nested(ConvertedSchema, allow_none=True, metadata={"description": "null when no reference rate converts it"})


class BuyerTierSchema(Schema):
    min_quantity = fields.Integer(required=True)
    price = fields.Nested(BuyerPriceSchema, required=True, metadata={"description": "at the first quantity of the tier the terms accept"})


class BuyerVariantSchema(Schema):
    id = fields.String(required=True)
    sku = fields.String(required=True)
    options = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    stock = fields.String(required=True, validate=validate.OneOf(stock.STATES))
    moq = fields.Integer(required=True)
    case_pack = fields.Integer(required=True)
    price = fields.Nested(BuyerPriceSchema, required=True, metadata={"description": "what this buyer pays at the smallest quantity accepted"})
    tiers = fields.List(fields.Nested(BuyerTierSchema), required=True)


class ShipsToSchema(Schema):
    country = fields.String(allow_none=True)
    ships = fields.Boolean(allow_none=True, metadata={"description": "null when the buyer's country is not known"})


class BuyerProductSchema(Schema):
    id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    merchant_name = fields.String(required=True)
    category = fields.String(required=True)
    language = fields.String(required=True, metadata={"description": "the language of title and description (also Content-Language)"})
    title = fields.String(required=True)
    description = fields.String(required=True)
    image_urls = fields.List(fields.String(metadata={"format": "uri"}), required=True)
    b2b_only = fields.Boolean(required=True)
    ships_to = fields.Nested(ShipsToSchema, required=True)
    currency = fields.String(required=True, metadata={"description": "the merchant's currency"})
    display_currency = fields.String(allow_none=True)
    updated_at = fields.String(required=True, metadata={"format": "date-time"})
    variants = fields.List(fields.Nested(BuyerVariantSchema), required=True)


class BuyerProductPageSchema(Schema):
    items = fields.List(fields.Nested(BuyerProductSchema), required=True)
    next_cursor = fields.String(allow_none=True, required=True, metadata={"description": "null on the last page"})
    next = fields.String(allow_none=True, required=True, metadata={"description": "the next page's path and query"})
    limit = fields.Integer(required=True)
