"""The buyers' catalog API: a product, and a merchant's products, as this buyer sees them
(see catalog.public for what varies with the buyer).

Conditional reads. Each answer carries an ETag of its body, so it changes whenever anything a
buyer sees changes: the product, the price this buyer pays (a contract price list, the
reference rates), the language served, the buyer's country or currency. `If-None-Match` with
the current ETag answers 304 with no body. `Vary: Accept-Language, Authorization` names the
request headers the answer depends on (the rest is in the URL), and `Cache-Control: private,
no-cache` lets the buyer's own client keep it and revalidate, never a shared cache.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from marketplace.catalog import public
from marketplace.catalog.buyer_context import buyer_context
from marketplace.catalog.public_schemas import BuyerArgsSchema, BuyerProductPageSchema, BuyerProductSchema, ListingArgsSchema
from marketplace.platform import router

blp = Blueprint("catalog_public", __name__, url_prefix="/api/v1", description="The catalog as buyers see it")

VARY = "Accept-Language, Authorization"
IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                 "description": "the ETag of your copy: 304 without a body while it is current"}
ACCEPT_LANGUAGE = {"in": "header", "name": "Accept-Language", "required": False, "schema": {"type": "string"},
                   "description": "languages wanted, with q-values; `lang` wins over it"}
HEADERS = [IF_NONE_MATCH, ACCEPT_LANGUAGE]
ANSWER_HEADERS = {
    "ETag": {"description": "of this answer for this buyer; send it back in If-None-Match", "schema": {"type": "string"}},
    "Content-Language": {"description": "the language(s) of the texts served", "schema": {"type": "string"}},
    "Vary": {"description": "Accept-Language, Authorization", "schema": {"type": "string"}},
}


def conditional(body: dict, languages: list[str], extra: dict[str, str] | None = None):
    """`body` with its ETag, or 304 when If-None-Match names that ETag already."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]
    headers = {"ETag": f'"{digest}"', "Vary": VARY, "Cache-Control": "private, no-cache", **(extra or {})}
    if languages:  # an empty page is in no language
        headers["Content-Language"] = ", ".join(dict.fromkeys(languages))
    if request.if_none_match.contains_weak(digest):
        return Response(status=304, headers=headers)
    return body, 200, headers


@blp.route("/products/<product_id>")
class PublicProduct(MethodView):
    @blp.arguments(BuyerArgsSchema(), location="query", unknown=RAISE)
    @blp.response(200, BuyerProductSchema, headers=ANSWER_HEADERS)
    @blp.alt_response(304, description="Not modified: your copy (If-None-Match) is current")
    @blp.alt_response(404, description="No such product for this buyer (hidden, or B2B-only for a non-company buyer)")
    @blp.alt_response(421, description="The product lives in another region's data center: the problem names it")
    @blp.doc(parameters=HEADERS)
    def get(self, args, product_id):
        """Read a product as this buyer sees it: language, price, stock, ships-to."""
        product = public.product_for_buyer(router=router(), product_id=product_id, buyer=buyer_context(**args))
        return conditional(product, [product["language"]])


@blp.route("/merchants/<merchant_id>/products")
class PublicMerchantProducts(MethodView):
    @blp.arguments(ListingArgsSchema(), location="query", unknown=RAISE)
    @blp.response(200, BuyerProductPageSchema, headers={
        **ANSWER_HEADERS, "Link": {"description": 'the next page, rel="next"', "schema": {"type": "string"}}})
    @blp.alt_response(304, description="Not modified: your copy (If-None-Match) is current")
    @blp.alt_response(404, description="No such merchant")
    @blp.doc(parameters=HEADERS)
    def get(self, args, merchant_id):
        """List a merchant's products for this buyer, a page at a time (cursor in id order)."""
        cursor, limit = args.pop("cursor", None), args.pop("limit")
        page = public.merchant_products(router=router(), merchant_id=merchant_id, buyer=buyer_context(**args),
                                        cursor=cursor, limit=limit)
        following = page.next_cursor and f"{request.path}?{urlencode({**args, 'limit': limit, 'cursor': page.next_cursor})}"
        body = {"items": page.items, "next_cursor": page.next_cursor, "next": following or None, "limit": page.limit}
        link = {"Link": f'<{following}>; rel="next"'} if following else {}
        return conditional(body, [item["language"] for item in page.items], link)
