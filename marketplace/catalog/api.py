"""The merchant catalog API: products with variants and B2B terms, price lists, quotes."""

from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from marketplace.catalog import service
from marketplace.catalog.schemas import (
    PageArgsSchema, PriceListSchema, ProductPageSchema, ProductSchema, QuoteArgsSchema, QuoteSchema, product_document,
)
from marketplace.merchants.principal import current_principal, require_principal
from marketplace.platform import router
from marketplace.errors import InvalidInput
from marketplace.regions import idempotency

blp = Blueprint("catalog", __name__, url_prefix="/api/v1/merchant", description="A merchant's own catalog")
blp.before_request(require_principal)

IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string", "pattern": r'^(\*|"[0-9]+")$'},
            "description": "the ETag of the product as you read it; a PUT over a newer revision is refused with 412"}


def etag_of(product) -> dict[str, str]:
    """The product's revision as a strong ETag: `"3"`."""
    return {"ETag": f'"{product.revision}"'}


def expected_revision() -> int | None:
    """The revision If-Match names, or None without the header (`*` asks for none either)."""
    if "If-Match" not in request.headers or request.if_match.star_tag:
        return None
    tags = list(request.if_match.as_set())
    if len(tags) != 1 or not tags[0].isdigit():
        raise InvalidInput("If-Match takes one ETag, as GET returned it.",
                           errors={"If-Match": ['one ETag such as "3"']})
    return int(tags[0])


@blp.route("/products")
class Products(MethodView):
    @blp.arguments(PageArgsSchema(), location="query", unknown=RAISE)
    @blp.response(200, ProductPageSchema)
    def get(self, page):
        """List your products."""
        items, total = service.list_products(router=router(), principal=current_principal(), **page)
        return {"items": items, "total": total, **page}

    @blp.arguments(ProductSchema())
    @blp.response(201, ProductSchema)
    @blp.doc(parameters=[idempotency.OPENAPI_HEADER])
    def post(self, data):
        """Add a product with its variants."""
        product = service.create_product(router=router(), principal=current_principal(), data=data,
                                         idempotency_key=request.headers.get("Idempotency-Key"))
        return product, 201, etag_of(product)


@blp.route("/products/<product_id>")
class ProductById(MethodView):
    @blp.response(200, ProductSchema)
    def get(self, product_id):
        """Read one of your products."""
        product = service.get_product(router=router(), principal=current_principal(), product_id=product_id)
        return jsonify(product_document(product)), 200, etag_of(product)  # ProductSchema's body (see product_document)

    @blp.arguments(ProductSchema())
    @blp.response(200, ProductSchema)
    @blp.alt_response(412, description="If-Match names an older revision: the product changed since you read it")
    @blp.doc(parameters=[IF_MATCH])
    def put(self, data, product_id):
        """Replace a product and its variants (matched by SKU)."""
        product = service.replace_product(router=router(), principal=current_principal(), product_id=product_id,
                                          data=data, expected_revision=expected_revision())
        return product, 200, etag_of(product)

    @blp.response(204)
    def delete(self, product_id):
        """Delete a product."""
        service.delete_product(router=router(), principal=current_principal(), product_id=product_id)


@blp.route("/price-lists")
class PriceLists(MethodView):
    @blp.response(200, PriceListSchema(many=True))
    def get(self):
        """List your price lists."""
        return service.list_price_lists(router=router(), principal=current_principal())

    @blp.arguments(PriceListSchema())
    @blp.response(201, PriceListSchema)
    @blp.doc(parameters=[idempotency.OPENAPI_HEADER])
    def post(self, data):
        """Give named buyer companies contract prices or a percentage off."""
        return service.create_price_list(router=router(), principal=current_principal(), data=data,
                                         idempotency_key=request.headers.get("Idempotency-Key"))


@blp.route("/price-lists/<price_list_id>")
class PriceListById(MethodView):
    @blp.response(204)
    def delete(self, price_list_id):
        """Delete a price list."""
        service.delete_price_list(router=router(), principal=current_principal(), price_list_id=price_list_id)


@blp.route("/variants/<variant_id>/quote")
class VariantQuote(MethodView):
    @blp.arguments(QuoteArgsSchema(), location="query", unknown=RAISE)
    @blp.response(200, QuoteSchema)
    def get(self, args, variant_id):
        """What a buyer (or a buyer company) pays for a quantity of your variant today, and why."""
        principal = current_principal()
        return service.quote(router=router(), merchant_id=principal.merchant_id, variant_id=variant_id, **args)
