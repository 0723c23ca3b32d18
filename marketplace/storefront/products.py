"""The signed-in merchant's products: the list, a new product, editing one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from marketplace.catalog import service as catalog
from marketplace.catalog import taxonomy
from marketplace.catalog.models import VISIBILITIES
from marketplace.catalog.service import StaleRevision
from marketplace.errors import Conflict, InvalidInput
from marketplace.merchants import accounts
from marketplace.platform import router
from marketplace.storefront import access, product_form, product_snapshot

blp = Blueprint("products", __name__, url_prefix="/dashboard/products")
blp.before_request(access.require_sign_in)
blp.after_request(access.no_store)
PAGE_SIZE = 50
VISIBILITY_NAMES = {"public": "Everyone", "b2b": "Business buyers only", "hidden": "Nobody (hidden)"}


@blp.get("/")
def index():
    """Your products, by reference."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    products, total = catalog.list_products(router=router(), principal=access.principal(),
                                            offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    merchant = accounts.get_merchant(router=router(), principal=access.principal())
    return render_template("dashboard/products.html", products=products, total=total, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), merchant=merchant, categories=taxonomy.categories())


@blp.route("/new", methods=["GET", "POST"])
def new():
    """Add a product with its variants."""
    merchant = accounts.get_merchant(router=router(), principal=access.principal())
    if request.method == "GET":
        return _form(merchant, None, {}, {})
    parsed = product_form.parse(request.form, currency_of=lambda _sku: merchant.default_currency)
    if not parsed.errors:
        try:
            product = catalog.create_product(router=router(), principal=access.principal(), data=parsed.data)
        except (InvalidInput, Conflict) as exc:
            parsed.merge(exc.errors or {"form": [exc.detail]})
        else:
            flash(f"Product {product.ref} added.")
            return redirect(url_for(".edit", product_id=product.id), 303)
    return _form(merchant, None, request.form.to_dict(), parsed.errors)


@blp.route("/<product_id>", methods=["GET", "POST"])
def edit(product_id: str):
    """Change a product and its variants (variants are matched by SKU)."""
    merchant = accounts.get_merchant(router=router(), principal=access.principal())
    product = catalog.get_product(router=router(), principal=access.principal(), product_id=product_id)
    if request.method == "GET":
        return _form(merchant, product, product_form.values_of(product), {})
    currencies = {v.sku: v.currency for v in product.variants}
    parsed = product_form.parse(request.form, currency_of=lambda sku: currencies.get(sku, merchant.default_currency))
    loaded_at = product_form.revision_of(request.form)
    if loaded_at is not None and loaded_at != product.revision:
        return _changed_meanwhile(merchant, product, parsed.errors)
    if not parsed.errors:
        try:
            catalog.replace_product(router=router(), principal=access.principal(), product_id=product.id, data=parsed.data,
                                    expected_revision=loaded_at)
        except StaleRevision:  # changed between this request's read and its write
            current = catalog.get_product(router=router(), principal=access.principal(), product_id=product.id)
            return _changed_meanwhile(merchant, current, parsed.errors)
        except (InvalidInput, Conflict) as exc:
            parsed.merge(exc.errors or {"form": [exc.detail]})
        else:
            flash(f"Product {parsed.data['ref']} saved.")
            return redirect(url_for(".edit", product_id=product.id), 303)
    return _form(merchant, product, request.form.to_dict(), parsed.errors)


def _changed_meanwhile(merchant, current, errors: dict):
    """The merchant's input again, nothing saved, with the fields changed since they loaded the
    form and their values now. The form is moved to the current revision: saving it again is
    the merchant's informed choice to put their version over the other change."""
    now = product_form.values_of(current)
    changed = product_snapshot.changed_since(request.form.get("loaded", ""), now)
    values = {**request.form.to_dict(), "revision": now["revision"], "loaded": now["loaded"]}
    notice = {"form": ["Someone changed this product after you opened it (in another tab, an import, the API, or a sale taking stock). "
                       "Nothing you typed is saved yet: compare it with the changes listed, then save again."]}
    listed = None if changed is None else [(product_form.label_of(name), now.get(name, "")) for name in changed]
    body, _ = _form(merchant, current, values, {**notice, **errors}, stale=True, changed=listed)
    return body, 409


def _form(merchant, product, values: dict, errors: dict, *, stale: bool = False,
          changed: list[tuple[str, str]] | None = None):
    body = render_template(
        "dashboard/product_form.html", merchant=merchant, product=product, values=values, errors=errors,
        rows=product_form.rows_of(values), category_options=_category_options(),
        visibility_options=[(v, VISIBILITY_NAMES[v]) for v in VISIBILITIES], languages=product_form.LANGUAGE_NAMES,
        labels={name: product_form.label_of(name) for name in errors}, stale=stale, changed=changed,
    )
    return body, 422 if errors else 200


def _category_options() -> list[tuple[str, str]]:
    known = taxonomy.categories()
    names = lambda slug: [known[s].name("en") for s in _ancestry(slug) if s in known]  # noqa: E731
    return [(slug, " › ".join(names(slug))) for slug in sorted(known)]


def _ancestry(slug: str) -> list[str]:
    parts = slug.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]
