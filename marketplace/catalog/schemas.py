"""Catalog shapes for the merchant JSON API. Prices are integer minor units of the merchant's
currency; texts are keyed by language.

Each rule the service holds a product to (catalog.service.product_problems) that a JSON Schema
can say is said here too, so the OpenAPI document shows the bounds (marketplace/bounds.toml),
codes and shapes a client must keep to; the service checks them again for the dashboard and
the importer.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from marketplace.bounds import BOUNDS
from marketplace.catalog import taxonomy
from marketplace.catalog.service import HS_CODE, HS_CODE_RULE, LANGUAGES, MAX_TEXT
from marketplace.codes import ISO_COUNTRY
from marketplace.wholenumbers import WholeNumber

# Messages as catalog.service words the same rules, so the API and an import say the same thing.
UNIT_PRICE = [validate.Range(min=0, error="must not be negative"),
              validate.Range(max=BOUNDS.max_unit_price, error=f"must be at most {BOUNDS.max_unit_price:,} minor units")]
QUANTITY = validate.Range(min=1, max=BOUNDS.max_quantity, error=f"must be from 1 to {BOUNDS.max_quantity:,}")


class LanguageTexts(fields.Dict):
    """language -> text, in one of LANGUAGES. A wrong language is named by its own path
    (`title.de`), as product_problems names it, not marshmallow's `title.de.key`."""

    def __init__(self, *, text: list[validate.Validator], **kwargs):
        language = validate.OneOf(LANGUAGES, error="language must be one of " + ", ".join(LANGUAGES))
        super().__init__(keys=fields.String(validate=language), values=fields.String(validate=text), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as error:
            if not isinstance(error.messages, dict):
                raise
            by_language = {language: [*problems.get("key", ()), *problems.get("value", ())]
                           for language, problems in error.messages.items()}
            raise ValidationError(by_language) from None


def physical(most: int, unit: str) -> WholeNumber:
    return WholeNumber(required=True, metadata={"description": unit}, validate=[
        validate.Range(min=1, error="must be more than 0"), validate.Range(max=most, error=f"must be at most {most:,}")])


class TierSchema(Schema):
    min_quantity = WholeNumber(required=True, validate=validate.Range(min=2, max=BOUNDS.max_quantity))
    unit_price = WholeNumber(required=True, validate=UNIT_PRICE)


class VariantSchema(Schema):
    id = fields.String(dump_only=True)
    sku = fields.String(required=True, validate=[validate.Length(min=1, max=64), validate.Regexp(r"^[A-Za-z0-9._/-]+$", error="letters, digits and . _ / - only")])
    options = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)), values=fields.String(validate=validate.Length(max=80)), load_default=dict)
    currency = fields.String(dump_only=True)
    base_price = WholeNumber(required=True, validate=UNIT_PRICE, metadata={"description": "minor units of the merchant's currency"})
    tiers = fields.List(fields.Nested(TierSchema), load_default=list,
                        metadata={"description": "quantities rising, prices falling below the base price"})
    moq = WholeNumber(load_default=1, validate=QUANTITY, metadata={"description": "minimum order quantity; whole case packs"})
    case_pack = WholeNumber(load_default=1, validate=QUANTITY, metadata={"description": "orders are multiples of this"})
    # Documented here, checked by product_problems alone: the dashboard reports it with the
    # business rules of the same variant row, which the schema's refusal would hold back.
    hs_code = fields.String(required=True, metadata={"pattern": HS_CODE.pattern, "description": HS_CODE_RULE})
    origin_country = fields.String(required=True, validate=ISO_COUNTRY)
    weight_g = physical(BOUNDS.max_weight_g, "grams")
    length_mm = physical(BOUNDS.max_dimension_mm, "millimetres")
    width_mm = physical(BOUNDS.max_dimension_mm, "millimetres")
    height_mm = physical(BOUNDS.max_dimension_mm, "millimetres")
    stock = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                        values=WholeNumber(validate=[validate.Range(min=0, error="stock must not be negative"),
                                                     validate.Range(max=BOUNDS.max_quantity, error=f"at most {BOUNDS.max_quantity:,} units")]),
                        load_default=dict, metadata={"description": "stock location -> units on hand (the rows of /variants/{id}/stock); "
                                                                     "a location left out is removed; never below the units checkouts hold (409)"})

    @pre_load
    def upper_country(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("origin_country"), str):
            data = {**data, "origin_country": data["origin_country"].strip().upper()}
        return data


class ProductSchema(Schema):
    id = fields.String(dump_only=True)
    ref = fields.String(required=True, validate=validate.Length(min=1, max=80), metadata={"description": "your own key for the product; imports match on it"})
    category = fields.String(required=True, validate=validate.OneOf(sorted(taxonomy.categories()), error="unknown category {input!r}"))
    title = LanguageTexts(text=[validate.Length(max=MAX_TEXT), validate.Regexp(r"\S", error="not blank")], required=True,
                          validate=validate.Length(min=1, error="a title in at least one language"),
                          metadata={"description": "language -> title; at least one"})
    description = LanguageTexts(text=[validate.Length(max=MAX_TEXT)], load_default=dict)
    image_urls = fields.List(fields.Url(schemes={"https", "http"}), load_default=list)
    visibility = fields.String(load_default="public", validate=validate.OneOf(["public", "b2b", "hidden"]))
    ships_to_exclusions = fields.List(fields.String(validate=ISO_COUNTRY), load_default=list)
    variants = fields.List(fields.Nested(VariantSchema), required=True, validate=validate.Length(min=1, max=500))
    updated_at = fields.AwareDateTime(dump_only=True)
    revision = fields.Integer(dump_only=True, metadata={"description": "bumped by every change; the ETag, and what If-Match names"})


class ProductPageSchema(Schema):
    items = fields.List(fields.Nested(ProductSchema))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


class PageArgsSchema(Schema):
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=BOUNDS.max_offset))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PriceListSchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    company_ids = fields.List(fields.String(validate=validate.Regexp(r"^cmp_[0-9A-Z]{26}$", error="a buyer company id (cmp_…)")), required=True, validate=validate.Length(min=1))
    valid_from = fields.Date(load_default=None)
    valid_until = fields.Date(load_default=None)
    percent_off_bp = WholeNumber(load_default=None, validate=validate.Range(min=1, max=9_999),
                                    metadata={"description": "basis points: 1250 is 12.5 %"})
    contract_prices = fields.Dict(keys=fields.String(), values=WholeNumber(validate=UNIT_PRICE), load_default=dict,
                                  metadata={"description": "variant id -> unit price in minor units"})


class QuoteArgsSchema(Schema):
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=BOUNDS.max_quantity))
    company_id = fields.String(load_default=None)


class QuoteSchema(Schema):
    quantity = fields.Integer()
    unit_price = fields.Integer()
    total = fields.Integer()
    currency = fields.String()
    rule = fields.String()
    explanation = fields.String()
    price_list_id = fields.String(allow_none=True)


def product_document(product) -> dict:
    """What `ProductSchema().dump(product)` gives, assembled by hand.

    `GET /api/v1/merchant/products/<id>` is what integrations poll, and marshmallow walking a
    product field by field (a dozen fields for each variant) was the largest share of its CPU
    time after the read itself (bench/hot_paths.py). A test keeps this byte for byte alike
    with the schema's output for products with variants, tiers, stock and texts; a field added
    to ProductSchema, VariantSchema or TierSchema belongs here too."""
    return {
        "id": product.id,
        "ref": product.ref,
        "category": product.category,
        "title": dict(product.title),
        "description": dict(product.description),
        "image_urls": list(product.image_urls),
        "visibility": product.visibility,
        "ships_to_exclusions": list(product.ships_to_exclusions),
        "variants": [_variant_document(variant) for variant in product.variants],
        "updated_at": product.updated_at.isoformat(),
        "revision": product.revision,
    }


def _variant_document(variant) -> dict:
    return {
        "id": variant.id,
        "sku": variant.sku,
        "options": dict(variant.options),
        "currency": variant.currency,
        "base_price": variant.base_price,
        "tiers": [{key: tier[key] for key in _TIER_FIELDS if key in tier} for tier in variant.tiers],
        "moq": variant.moq,
        "case_pack": variant.case_pack,
        "hs_code": variant.hs_code,
        "origin_country": variant.origin_country,
        "weight_g": variant.weight_g,
        "length_mm": variant.length_mm,
        "width_mm": variant.width_mm,
        "height_mm": variant.height_mm,
        "stock": variant.stock,
    }


_TIER_FIELDS = tuple(TierSchema._declared_fields)
