"""Request and response shapes of the buyer search API."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from marketplace.bounds import BOUNDS
from marketplace.codes import ISO_COUNTRY
from payments import fx
from search.prices import SELECTION
from search.query import AUDIENCES, MAX_RESULT_WINDOW, SORTS

COUNTRY = fields.String(validate=ISO_COUNTRY)
# Prices in the buyer's currency as plain decimals (money.Money.parse reads them), no longer
# than marketplace/bounds.toml allows: 400 nines once overflowed the exchange-rate arithmetic.
PRICE = validate.Regexp(rf"^[0-9]{{1,{BOUNDS.max_price_whole_digits}}}(\.[0-9]{{1,4}})?$",
                        error=f"an amount such as 10.00, at most {BOUNDS.max_price_whole_digits} digits before the point")


def ignored_audience() -> fields.String:
    """Older apps send it, to search and to suggestions alike; it changes nothing: the
    audience comes from who the caller is (search.service.audience_for), never the request."""
    return fields.String(validate=validate.OneOf(AUDIENCES), metadata={
        "deprecated": True, "description": "ignored: B2B-only products are shown to business buyers by their identity"})


class SearchArgsSchema(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    lang = fields.String(load_default="en", validate=validate.OneOf(["en", "es", "fr", "nl"]))
    category = fields.String(validate=validate.Length(max=80))
    origin = fields.List(COUNTRY, load_default=list)
    region = fields.List(fields.String(validate=validate.Length(equal=3)), load_default=list)
    merchant = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list)
    ships_to = COUNTRY
    currency = fields.String(validate=validate.OneOf(sorted(fx.rates().per_usd), error="a currency with a reference rate"),
                             metadata={"description": "prices in it; else the signed-in buyer's, else that of their country "
                                                      "(ships_to), else USD"})
    price_min = fields.String(validate=PRICE, metadata={"description": "in the buyer's currency, e.g. 10.00"})
    price_max = fields.String(validate=PRICE)
    price_bucket = fields.String(validate=validate.Regexp(SELECTION, error="<from>-<to> in minor units, e.g. 1000-2500, or 25000-"),
                                 metadata={"description": "a price facet value: <from>-<to> in minor units of the buyer's "
                                                          "currency, <to> excluded and left out for the top bucket"})
    in_stock = fields.Boolean(load_default=False)
    audience = ignored_audience()
    b2b_only = fields.Boolean(load_default=False)
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500),
                          metadata={"description": f"page times per_page: within the first {MAX_RESULT_WINDOW:,} results"})
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))

    @validates_schema
    def _within_the_result_window(self, data, **kwargs):
        if data.get("page", 1) * data.get("per_page", 20) > MAX_RESULT_WINDOW:
            raise ValidationError(f"only the first {MAX_RESULT_WINDOW:,} results can be paged through; "
                                  f"narrow the search", field_name="page")


class MoneySchema(Schema):
    amount = fields.Integer()
    currency = fields.String()


class HitSchema(Schema):
    id = fields.String()
    title = fields.String()
    highlight = fields.String(metadata={"description": "HTML: matches wrapped in <mark>, the rest escaped"})
    score = fields.Float()
    merchant = fields.Dict()
    category = fields.String()
    origin_countries = fields.List(fields.String())
    price = fields.Nested(MoneySchema)
    buyer_price = fields.Nested(MoneySchema, allow_none=True)
    in_stock = fields.Boolean()
    b2b_only = fields.Boolean()
    image_url = fields.String(allow_none=True, metadata={"description": "the product's first image, absolute or site-relative; null when none"})
    public_url = fields.String(allow_none=True, metadata={"description": "the product's storefront page on this site; null when its merchant has no storefront"})
    api_url = fields.String(metadata={"description": "the product in the buyers' API (GET it for variants, stock and this buyer's price)"})


class FacetValueSchema(Schema):
    value = fields.String(metadata={"description": "what to send back to select it (an id, a code, a bucket)"})
    count = fields.Integer()
    label = fields.String(metadata={"description": "what to show, in the buyer's language and currency"})
    min = fields.Nested(MoneySchema, metadata={"description": "price buckets only: the round lower bound, included, "
                                                              "in the buyer's currency"})
    max = fields.Nested(MoneySchema, allow_none=True, metadata={"description": "price buckets only: the upper bound, "
                                                                              "excluded; null for the top bucket"})


class InsteadSchema(Schema):
    q = fields.String(metadata={"description": "a search that finds something"})
    total = fields.Integer()
    without_filters = fields.Boolean(metadata={"description": "found only without the request's filters"})


class SearchResultSchema(Schema):
    items = fields.List(fields.Nested(HitSchema))
    total = fields.Integer()
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetValueSchema)))
    page = fields.Integer()
    per_page = fields.Integer()
    corrected_terms = fields.List(fields.String())
    suggestions = fields.List(fields.Nested(InsteadSchema), metadata={
        "description": "when nothing is found: searches that would find something, with their totals"})


class SuggestArgsSchema(Schema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=100))
    lang = fields.String(load_default="en", validate=validate.OneOf(["en", "es", "fr", "nl"]))
    limit = fields.Integer(load_default=8, validate=validate.Range(min=1, max=20))
    audience = ignored_audience()


class SuggestionsSchema(Schema):
    suggestions = fields.List(fields.String())
