"""Catalog shapes for the merchant JSON API. Prices are integer minor units of the merchant's
currency; texts are keyed by language."""

from __future__ import annotations

from marshmallow import Schema, fields, pre_load, validate

LANG_TEXT = fields.Dict(keys=fields.String(validate=validate.Length(equal=2)), values=fields.String())
COUNTRY = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$", error="a two-letter country code in capitals"))


class TierSchema(Schema):
    min_quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=2))
    unit_price = fields.Integer(required=True, strict=True)


class VariantSchema(Schema):
    id = fields.String(dump_only=True)
    sku = fields.String(required=True, validate=[validate.Length(min=1, max=64), validate.Regexp(r"^[A-Za-z0-9._/-]+$", error="letters, digits and . _ / - only")])
    options = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)), values=fields.String(validate=validate.Length(max=80)), load_default=dict)
    currency = fields.String(dump_only=True)
    base_price = fields.Integer(required=True, strict=True, metadata={"description": "minor units of the merchant's currency"})
    tiers = fields.List(fields.Nested(TierSchema), load_default=list)
    moq = fields.Integer(strict=True, load_default=1, metadata={"description": "minimum order quantity"})
    case_pack = fields.Integer(strict=True, load_default=1, metadata={"description": "orders are multiples of this"})
    hs_code = fields.String(required=True)
    origin_country = COUNTRY
    weight_g = fields.Integer(required=True, strict=True)
    length_mm = fields.Integer(required=True, strict=True)
    width_mm = fields.Integer(required=True, strict=True)
    height_mm = fields.Integer(required=True, strict=True)
    stock = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)), values=fields.Integer(strict=True), load_default=dict)

    @pre_load
    def upper_country(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("origin_country"), str):
            data = {**data, "origin_country": data["origin_country"].strip().upper()}
        return data


VariantSchema._declared_fields["origin_country"].required = True


class ProductSchema(Schema):
    id = fields.String(dump_only=True)
    ref = fields.String(required=True, validate=validate.Length(min=1, max=80), metadata={"description": "your own key for the product; imports match on it"})
    category = fields.String(required=True)
    title = LANG_TEXT
    description = fields.Dict(keys=fields.String(validate=validate.Length(equal=2)), values=fields.String(), load_default=dict)
    image_urls = fields.List(fields.Url(schemes={"https", "http"}), load_default=list)
    visibility = fields.String(load_default="public", validate=validate.OneOf(["public", "b2b", "hidden"]))
    ships_to_exclusions = fields.List(COUNTRY, load_default=list)
    variants = fields.List(fields.Nested(VariantSchema), required=True, validate=validate.Length(min=1, max=500))
    updated_at = fields.AwareDateTime(dump_only=True)
    revision = fields.Integer(dump_only=True, metadata={"description": "bumped by every change; the ETag, and what If-Match names"})


ProductSchema._declared_fields["title"].required = True


class ProductPageSchema(Schema):
    items = fields.List(fields.Nested(ProductSchema))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


class PageArgsSchema(Schema):
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PriceListSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    company_ids = fields.List(fields.String(validate=validate.Regexp(r"^cmp_[0-9A-Z]{26}$", error="a buyer company id (cmp_…)")), required=True, validate=validate.Length(min=1))
    valid_from = fields.Date(load_default=None)
    valid_until = fields.Date(load_default=None)
    percent_off_bp = fields.Integer(strict=True, load_default=None, metadata={"description": "basis points: 1250 is 12.5 %"})
    contract_prices = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True), load_default=dict,
                                  metadata={"description": "variant id -> unit price in minor units"})


class QuoteArgsSchema(Schema):
    quantity = fields.Integer(required=True)
    company_id = fields.String(load_default=None)


class QuoteSchema(Schema):
    quantity = fields.Integer()
    unit_price = fields.Integer()
    total = fields.Integer()
    currency = fields.String()
    rule = fields.String()
    explanation = fields.String()
    price_list_id = fields.String(allow_none=True)
