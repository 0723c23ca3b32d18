"""Server-rendered storefronts and the merchant dashboard.

One blueprint for the app to register, made of smaller ones: `shop` (the public pages),
`account` (sign up, sign in, password reset), and the signed-in dashboard's `dashboard`,
`products`, `imports`, `orders`, `parcels` and `terms`, each of which checks the session before any of its views runs.
Pages work without JavaScript; forms post with a CSRF token (CSRFProtect is app-wide).
"""

from functools import partial

from flask import Blueprint, g, request, url_for

from marketplace.money import Money
from marketplace.storefront import (account, dashboard, form_text, i18n, imports, orders, parcels, products, search_page, shop,
                                    terms, tracking_page)

blp = Blueprint("storefront", __name__, template_folder="templates", static_folder="static", static_url_path="/static/storefront")
for part in (shop.blp, search_page.blp, account.blp, dashboard.blp, products.blp, imports.blp, orders.blp, parcels.blp, terms.blp,
             tracking_page.blp):
    blp.register_blueprint(part)
blp.url_value_preprocessor(form_text.keep_body)

# No script runs on these pages; images are the merchants' own, from anywhere on the web.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: http: data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@blp.after_request
def _page_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@blp.context_processor
def _page_context():
    language = g.get("lang", "en")
    asked = request.args.get("lang", "").lower()
    return {
        "lang": language,
        "lang_param": asked if asked in i18n.LANGUAGES else None,
        "language_links": _language_links,
        "t": partial(i18n.translate, language),
        "money": lambda amount, currency: Money(amount, currency).format(language),
    }


def _language_links() -> list[tuple[str, str, str]]:
    """(code, name, address) of this page in each language, keeping its other query arguments."""
    arguments = {**(request.view_args or {}), **request.args.to_dict()}
    return [(code, name, url_for(request.endpoint, **{**arguments, "lang": code})) for code, name in i18n.LANGUAGE_NAMES.items()]
