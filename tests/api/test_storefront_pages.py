"""The server-rendered storefront and merchant dashboard, through the Flask test client.

CSRF protection stays on, as in production: form posts carry the token read from the page.
"""

from __future__ import annotations

import io
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import text

from marketplace.catalog import service as catalog
from marketplace.catalog.models import ImportJob
from marketplace.merchants import accounts, session_cookie, sessions
from marketplace.regions.router import DIRECTORY
from tests.support.mail import delivered, reset_link

PASSWORD = "correct horse battery"


# Building blocks -----------------------------------------------------------------------------

def open_merchant(router, handle="blue-mountain", country="JM", email=None, **extra):
    return accounts.sign_up(
        router=router, trading_name=extra.pop("trading_name", f"Shop {handle}"), legal_name=f"{handle} Ltd",
        home_country=country, email=email or f"owner@{handle}.example", password=PASSWORD, handle=handle, **extra,
    )


def variant(sku, **fields):
    return {
        "sku": sku, "options": {}, "base_price": 1250, "tiers": [], "moq": 1, "case_pack": 1, "hs_code": "090121",
        "origin_country": "JM", "weight_g": 250, "length_mm": 100, "width_mm": 60, "height_mm": 180, "stock": {"KGN": 10},
        **fields,
    }


def product(ref, *variants, **fields):
    return {
        "ref": ref, "category": "food/coffee", "title": {"en": f"Coffee {ref}"}, "description": {}, "image_urls": [],
        "visibility": "public", "ships_to_exclusions": [], "variants": list(variants) or [variant(f"{ref}-1")], **fields,
    }


def add_product(router, principal, ref, *variants, **fields):
    return catalog.create_product(router=router, principal=principal, data=product(ref, *variants, **fields))


def sign_in_as(client, principal):
    """A real server-side session for `principal`, its token in the client's cookie."""
    token = sessions.start(router=client.application.extensions["cpu"].router, principal=principal)
    with client.session_transaction() as session:
        session.update({session_cookie.REGION: principal.region, session_cookie.TOKEN: token})


def csrf_token(client, path):
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def post_form(client, path, data, *, form_page=None, **kwargs):
    token = csrf_token(client, form_page or path)
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def page_text(response):
    """The page's visible text, tags removed and whitespace (including no-break spaces) collapsed."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def count_accounts(router) -> int:
    total = 0
    for name in router.database_names:
        tables = ("directory_entries", "storefront_handles", "sign_in_handles") if name == DIRECTORY else ("merchants", "staff_users")
        with router.engine(name).connect() as connection:
            total += sum(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in tables)
    return total


class Outline(HTMLParser):
    """What the accessibility checks need from a page."""

    def __init__(self):
        super().__init__()
        self.html_lang, self.headings, self.labels, self.inputs, self.images, self.ids = None, [], set(), [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "html":
            self.html_lang = attrs.get("lang")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "label":
            self.labels.add(attrs.get("for"))
        elif tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.inputs.append(attrs.get("id"))
        elif tag == "img":
            self.images.append(attrs.get("alt"))


def assert_accessible_outline(response):
    outline = Outline()
    outline.feed(response.get_data(as_text=True))
    assert outline.html_lang in ("en", "es", "fr", "nl")
    assert outline.headings.count(1) == 1, outline.headings
    assert outline.headings[0] == 1 and all(b - a <= 1 for a, b in zip(outline.headings, outline.headings[1:])), outline.headings
    assert all(i and i in outline.labels for i in outline.inputs), set(outline.inputs) - outline.labels
    assert all(alt for alt in outline.images)
    assert len(outline.ids) == len(set(outline.ids)), "ids must be unique"
    assert 'href="#main"' in response.get_data(as_text=True)


# The public pages ----------------------------------------------------------------------------

def test_the_home_page_links_every_storefront(client, router):
    open_merchant(router, "blue-mountain", "JM", trading_name="Blue Mountain Roasters")
    open_merchant(router, "cibao-cacao", "DO", trading_name="Cibao Cacao")
    response = client.get("/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'href="/s/blue-mountain"' in body and 'href="/s/cibao-cacao"' in body
    assert "Blue Mountain Roasters" in body and "Cibao Cacao" in body
    assert_accessible_outline(response)


def test_the_home_page_names_regions_it_could_not_read(client, router):
    open_merchant(router, "blue-mountain", "JM", trading_name="Blue Mountain Roasters")
    open_merchant(router, "cibao-cacao", "DO", trading_name="Cibao Cacao")
    router.health.mark_down("kin", "test outage")
    response = client.get("/")
    assert response.status_code == 200
    assert "Cibao Cacao" in page_text(response) and "Blue Mountain Roasters" not in page_text(response)
    assert "the Kingston data center could not be reached" in page_text(response)


def test_a_storefront_shows_its_categories_and_public_products_only(client, router):
    owner = open_merchant(router, trading_name="Blue Mountain Roasters")
    add_product(router, owner, "public-beans")
    add_product(router, owner, "trade-sacks", category="food/spices", visibility="b2b")
    add_product(router, owner, "secret-blend", visibility="hidden")
    response = client.get("/s/blue-mountain")
    assert response.status_code == 200
    page = page_text(response)
    assert "Blue Mountain Roasters" in page and "Coffee public-beans" in page
    assert "trade-sacks" not in page and "secret-blend" not in page
    assert 'href="/s/blue-mountain/c/food/coffee"' in response.get_data(as_text=True)
    assert "/c/food/spices" not in response.get_data(as_text=True)  # only the b2b product is there
    assert_accessible_outline(response)


def test_a_category_page_lists_its_subtree(client, router):
    owner = open_merchant(router)
    add_product(router, owner, "beans")
    add_product(router, owner, "pepper", category="food/spices")
    add_product(router, owner, "rum", category="beverages/rum")
    food = page_text(client.get("/s/blue-mountain/c/food"))
    assert "Coffee beans" in food and "Coffee pepper" in food and "Coffee rum" not in food
    coffee = client.get("/s/blue-mountain/c/food/coffee")
    assert "Coffee beans" in page_text(coffee) and "Coffee pepper" not in page_text(coffee)
    assert_accessible_outline(coffee)
    assert client.get("/s/blue-mountain/c/food/no-such-thing").status_code == 404


def test_hidden_and_b2b_products_are_not_found_by_anonymous_visitors(client, router):
    owner = open_merchant(router)
    b2b = add_product(router, owner, "trade-sacks", visibility="b2b")
    hidden = add_product(router, owner, "secret-blend", visibility="hidden")
    assert client.get(f"/s/blue-mountain/p/{b2b.id}").status_code == 404
    assert client.get(f"/s/blue-mountain/p/{hidden.id}").status_code == 404
    assert client.get(f"/s/blue-mountain/p/{hidden.id}?variant={hidden.variants[0].id}&quantity=1").status_code == 404


def test_an_unknown_storefront_or_product_is_a_404_page(client, router):
    open_merchant(router)
    assert client.get("/s/nobody-here", headers={"Accept": "text/html"}).status_code == 404
    assert client.get("/s/blue-mountain/p/prd_01M897S1J8D38N1K4DV6KSQSH1").status_code == 404
    assert client.get("/s/blue-mountain/p/not-an-id").status_code == 404


def test_a_product_page_speaks_the_visitors_language_and_falls_back(client, router):
    owner = open_merchant(router, "curacao-koffie", "CW", languages=["nl", "en"])
    texts = {"title": {"en": "Dark roast", "es": "Tueste oscuro", "nl": "Donkere branding"},
             "description": {"en": "Roasted in Willemstad.", "nl": "Gebrand in Willemstad."}}
    found = add_product(router, owner, "dark", **texts)
    path = f"/s/curacao-koffie/p/{found.id}"

    spanish = client.get(path + "?lang=es")
    assert "<h1>Tueste oscuro</h1>" in spanish.get_data(as_text=True) and '<html lang="es">' in spanish.get_data(as_text=True)
    # No Spanish description: the merchant's default language (Dutch), marked as such.
    assert '<div class="description" lang="nl">' in spanish.get_data(as_text=True)
    assert "Gebrand in Willemstad." in page_text(spanish)

    english = client.get(path, headers={"Accept-Language": "fr-FR;q=0.9, en;q=0.8"})
    # No French title: the next choice, marked as English on a French page.
    assert '<html lang="fr">' in english.get_data(as_text=True) and '<h1 lang="en">Dark roast</h1>' in english.get_data(as_text=True)
    assert "Accept-Language" in english.headers["Vary"]

    german = client.get(path, headers={"Accept-Language": "de-DE"})
    assert "<h1>Donkere branding</h1>" in german.get_data(as_text=True)  # the merchant's default
    assert '<html lang="nl">' in german.get_data(as_text=True)

    only_spanish = add_product(router, owner, "only-es", title={"es": "Solo en español"})
    page = client.get(f"/s/curacao-koffie/p/{only_spanish.id}?lang=fr")
    assert '<h1 lang="es">Solo en español</h1>' in page.get_data(as_text=True)  # any language beats none
    assert_accessible_outline(page)


def test_a_product_page_shows_volume_prices_and_order_terms_in_words(client, router):
    owner = open_merchant(router)
    tiers = [{"min_quantity": 24, "unit_price": 1100}, {"min_quantity": 48, "unit_price": 1000}, {"min_quantity": 144, "unit_price": 950}]
    found = add_product(router, owner, "beans", variant("BEANS-250", options={"size": "250 g"}, moq=12, case_pack=6, tiers=tiers))
    response = client.get(f"/s/blue-mountain/p/{found.id}")
    page = page_text(response)
    assert "Minimum order: 12 units." in page
    assert "Sold in cases of 6 units: order 12, 18, 24 and so on." in page
    table = re.search(r'<table class="tier-table">.*?</table>', response.get_data(as_text=True), re.S).group(0)
    rows = re.findall(r'<th scope="row">(\d+)</th><td>([^<]+)</td>', table)
    assert rows == [("12", "JMD12.50"), ("24", "JMD11.00"), ("48", "JMD10.00"), ("144", "JMD9.50")]

    spanish = page_text(client.get(f"/s/blue-mountain/p/{found.id}?lang=es"))
    assert "Pedido mínimo: 12 unidades." in spanish and "11,00 JMD" in spanish


def test_the_variant_picker_quotes_a_quantity_or_says_which_term_it_breaks(client, router):
    owner = open_merchant(router)
    found = add_product(router, owner, "beans",
                        variant("BEANS-250", options={"size": "250 g"}, moq=12, case_pack=6, tiers=[{"min_quantity": 24, "unit_price": 1100}]),
                        variant("BEANS-1K", options={"size": "1 kg"}, base_price=4000))
    small, large = sorted(found.variants, key=lambda v: v.sku, reverse=True)
    path = f"/s/blue-mountain/p/{found.id}"

    quote = page_text(client.get(f"{path}?variant={small.id}&quantity=24"))
    assert "24 × JMD11.00 = JMD264.00" in quote and "volume price from 24 units" in quote

    below = client.get(f"{path}?variant={small.id}&quantity=6")
    assert below.status_code == 200
    assert "The minimum order for this item is 12 units." in page_text(below)
    assert 'aria-invalid="true"' in below.get_data(as_text=True)

    odd = page_text(client.get(f"{path}?variant={small.id}&quantity=13"))
    assert "This item is sold in cases of 6: order a multiple of 6, such as 18." in odd

    assert "Enter a whole number of at least 1." in page_text(client.get(f"{path}?variant={small.id}&quantity=lots"))
    assert "1 × JMD40.00 = JMD40.00" in page_text(client.get(f"{path}?variant={large.id}&quantity=1"))


# Signing up and in ---------------------------------------------------------------------------

DASHBOARD_PAGES = ["/dashboard/", "/dashboard/products/", "/dashboard/products/new", "/dashboard/settings",
                   "/dashboard/api-keys", "/dashboard/imports/", "/dashboard/imports/imp_01M897S1J8D38N1K4DV6KSQSH1",
                   "/dashboard/products/prd_01M897S1J8D38N1K4DV6KSQSH1", "/dashboard/orders/",
                   "/dashboard/orders/ord_01M897S1J8D38N1K4DV6KSQSH1", "/dashboard/terms/", "/dashboard/parcels",
                   "/dashboard/payouts", "/dashboard/parcels/shp_01M897S1J8D38N1K4DV6KSQSH1/label",
                   "/dashboard/parcels/shp_01M897S1J8D38N1K4DV6KSQSH1/customs-form"]


@pytest.mark.parametrize("path", DASHBOARD_PAGES)
def test_every_dashboard_page_requires_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/signin?next=")


def test_dashboard_posts_without_a_session_change_nothing(client, router):
    owner = open_merchant(router)
    found = add_product(router, owner, "beans")
    token = csrf_token(client, "/dashboard/signin")
    response = client.post(f"/dashboard/products/{found.id}", data={"csrf_token": token, "ref": "stolen"})
    assert response.status_code == 302 and "/dashboard/signin" in response.headers["Location"]
    assert catalog.get_product(router=router, principal=owner, product_id=found.id).ref == "beans"


def test_signing_up_opens_the_dashboard_and_the_storefront(client, router):
    response = post_form(client, "/dashboard/signup", {
        "trading_name": "Blue Mountain Roasters", "legal_name": "BMR Ltd", "home_country": "JM",
        "email": "Owner@Example.com", "password": PASSWORD, "handle": "Blue-Mountain",
    })
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/"
    dashboard = client.get("/dashboard/")
    assert dashboard.status_code == 200 and "Blue Mountain Roasters" in page_text(dashboard)
    assert dashboard.headers["Cache-Control"] == "no-store"
    assert client.get("/s/blue-mountain").status_code == 200
    merchant = accounts.merchant_for_handle(router=router, handle="blue-mountain")
    assert merchant.region == "kin" and merchant.default_currency == "JMD"


def test_bad_signup_input_shows_every_error_next_to_its_field_and_writes_nothing(client, router):
    response = post_form(client, "/dashboard/signup", {
        "trading_name": "Blue Mountain Roasters", "legal_name": "  ", "home_country": "JM",
        "email": "not-an-email", "password": "", "handle": "bm",
    })
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    for field in ("legal_name", "email", "password"):
        assert f'id="{field}-error"' in body
    assert 'value="Blue Mountain Roasters"' in body and 'value="not-an-email"' in body  # what was typed is kept
    assert 'class="error-summary"' in body and 'href="#legal_name"' in body
    assert_accessible_outline(response)
    assert count_accounts(router) == 0

    # The account's own rules (handle shape, password length, member state) come back the same way.
    response = post_form(client, "/dashboard/signup", {
        "trading_name": "Rum Co", "legal_name": "Rum Co Ltd", "home_country": "US",
        "email": "rum@example.com", "password": "short", "handle": "-bad-",
    })
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert all(f'id="{field}-error"' in body for field in ("home_country", "password", "handle"))
    assert count_accounts(router) == 0


def test_a_taken_handle_or_email_is_shown_on_the_form(client, router):
    open_merchant(router, "blue-mountain", email="owner@example.com")
    before = count_accounts(router)
    response = post_form(client, "/dashboard/signup", {
        "trading_name": "Copycat", "legal_name": "Copycat Ltd", "home_country": "BB",
        "email": "owner@example.com", "password": PASSWORD, "handle": "blue-mountain",
    })
    assert response.status_code == 422
    assert "already taken" in page_text(response) and "already registered" in page_text(response)
    assert count_accounts(router) == before


def test_signing_in_and_out(client, router):
    open_merchant(router, email="owner@example.com")
    wrong = post_form(client, "/dashboard/signin", {"email": "owner@example.com", "password": "wrong password!"})
    assert wrong.status_code == 422 and "The email or password is not right." in page_text(wrong)

    right = post_form(client, "/dashboard/signin?next=/dashboard/settings",
                      {"email": "owner@example.com", "password": PASSWORD})
    assert right.status_code == 303 and right.headers["Location"] == "/dashboard/settings"
    assert client.get("/dashboard/settings").status_code == 200

    assert client.get("/dashboard/signout").status_code == 405  # signing out is a POST
    out = post_form(client, "/dashboard/signout", {}, form_page="/dashboard/")
    assert out.status_code == 303
    assert client.get("/dashboard/settings").status_code == 302


def test_signing_in_never_sends_you_to_another_site(client, router):
    open_merchant(router, email="owner@example.com")
    response = post_form(client, "/dashboard/signin?next=//evil.example/x", {"email": "owner@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/dashboard/"


def test_csrf_is_enforced_on_form_posts(client, router):
    open_merchant(router, email="owner@example.com")
    refused = client.post("/dashboard/signin", data={"email": "owner@example.com", "password": PASSWORD},
                          headers={"Accept": "text/html"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    forged = client.post("/dashboard/signin", data={"csrf_token": "forged", "email": "owner@example.com", "password": PASSWORD})
    assert forged.status_code == 400
    with client.session_transaction() as session:
        assert "merchant_id" not in session


def test_a_password_reset_link_from_the_mail_sets_a_new_password(app, client, router):
    open_merchant(router, email="owner@example.com")
    with delivered(app) as inbox:
        sent = post_form(client, "/dashboard/reset", {"email": "owner@example.com"})
    assert sent.status_code == 200 and "Check your email" in page_text(sent)
    link = reset_link(inbox[0])
    assert inbox[0]["To"] == "owner@example.com"

    opened = client.get(link.removeprefix("http://localhost"))
    assert opened.status_code == 303 and opened.headers["Location"] == "/dashboard/reset/new-password"
    path = opened.headers["Location"]
    mismatch = post_form(client, path, {"password": "a brand new secret", "password_again": "something else"})
    assert mismatch.status_code == 422 and "The two passwords differ." in page_text(mismatch)
    done = post_form(client, path, {"password": "a brand new secret", "password_again": "a brand new secret"})
    assert done.status_code == 303
    again = post_form(client, path, {"password": "another new secret", "password_again": "another new secret"})
    assert again.status_code == 422 and "This link does not work" in page_text(again)

    assert post_form(client, "/dashboard/signin", {"email": "owner@example.com", "password": "a brand new secret"}).status_code == 303


def test_asking_for_a_reset_says_the_same_for_unknown_emails(client, router):
    response = post_form(client, "/dashboard/reset", {"email": "nobody@example.com"})
    assert response.status_code == 200 and "Check your email" in page_text(response)


# Products in the dashboard -------------------------------------------------------------------

def new_product_form(**overrides):
    form = {
        "ref": "bm-beans", "category": "food/coffee", "visibility": "public", "title_en": "Blue Mountain beans",
        "title_es": "Granos Blue Mountain", "description_en": "Grown at 1,500 m.",
        "v0_sku": "BM-250", "v0_options": "size=250 g | roast=medium", "v0_price": "12.50", "v0_moq": "12", "v0_case_pack": "6",
        "v0_hs_code": "0901.21", "v0_origin_country": "jm", "v0_weight_g": "250", "v0_length_mm": "100", "v0_width_mm": "60",
        "v0_height_mm": "180", "v0_stock": "KGN=100 | MBJ=20",
        "v0_t0_from": "24", "v0_t0_price": "11.00", "v0_t1_from": "48", "v0_t1_price": "10.00", "v0_t2_from": "144", "v0_t2_price": "9.50",
        "v1_sku": "BM-1K", "v1_options": "size=1 kg", "v1_price": "40", "v1_hs_code": "090121", "v1_origin_country": "JM",
        "v1_weight_g": "1000", "v1_length_mm": "200", "v1_width_mm": "100", "v1_height_mm": "250",
        "v2_sku": "", "v2_price": "", "v2_t0_from": "",
    }
    return {**form, **overrides}


def test_a_new_product_with_variant_rows_and_tiers_is_saved(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    new = client.get("/dashboard/products/new")
    assert new.status_code == 200 and 'id="v2_sku"' in new.get_data(as_text=True)  # three empty rows
    assert_accessible_outline(new)

    response = post_form(client, "/dashboard/products/new", new_product_form())
    assert response.status_code == 303, page_text(response)
    [saved], _ = catalog.list_products(router=router, principal=owner)
    assert saved.title == {"en": "Blue Mountain beans", "es": "Granos Blue Mountain"}
    small, large = sorted(saved.variants, key=lambda v: v.sku, reverse=True)
    assert (small.sku, small.base_price, small.currency, small.moq, small.case_pack) == ("BM-250", 1250, "JMD", 12, 6)
    assert small.options == {"size": "250 g", "roast": "medium"} and small.stock == {"KGN": 100, "MBJ": 20}
    assert small.hs_code == "090121" and small.origin_country == "JM"
    assert small.tiers == [{"min_quantity": 24, "unit_price": 1100}, {"min_quantity": 48, "unit_price": 1000},
                           {"min_quantity": 144, "unit_price": 950}]
    assert (large.sku, large.base_price, large.moq, large.tiers) == ("BM-1K", 4000, 1, [])
    assert response.headers["Location"] == f"/dashboard/products/{saved.id}"

    edit = client.get(response.headers["Location"])
    body = edit.get_data(as_text=True)
    assert 'value="12.50"' in body and 'value="size=250 g | roast=medium"' in body and 'value="KGN=100 | MBJ=20"' in body
    assert 'id="v2_sku"' in body  # a spare row after the two variants
    listing = client.get("/dashboard/products/")
    assert "bm-beans" in page_text(listing)


def test_product_form_errors_are_shown_next_to_their_fields_with_the_values_kept(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    form = new_product_form(v0_price="12.505", v0_stock="KGN=lots", v1_origin_country="", v0_t1_price="abc", v1_sku="bad sku!")
    response = post_form(client, "/dashboard/products/new", form, form_page="/dashboard/products/new")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    for name in ("v0_price", "v0_stock", "v1_origin_country", "v0_t1_price", "v1_sku"):
        assert f'id="{name}-error"' in body, name
        assert f'href="#{name}"' in body, name
    assert 'value="12.505"' in body and 'value="KGN=lots"' in body and 'value="Blue Mountain beans"' in body
    assert_accessible_outline(response)
    assert catalog.list_products(router=router, principal=owner)[1] == 0

    # Business rules from the catalog service land on the row they concern.
    rules = post_form(client, "/dashboard/products/new", new_product_form(v1_price="5", v1_t0_from="10", v1_t0_price="6",
                                                                           v1_moq="5", v1_case_pack="2", v1_hs_code="12"),
                      form_page="/dashboard/products/new")
    assert rules.status_code == 422
    body = rules.get_data(as_text=True)
    assert all(f'id="v1_{name}-error"' in body for name in ("tiers", "moq", "hs_code"))
    assert not re.search(r'id="v0_\w+-error"', body)  # the first row is fine


def test_empty_form_rows_are_ignored_but_a_product_needs_one_variant(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    response = post_form(client, "/dashboard/products/new", {"ref": "x", "category": "food", "title_en": "X"},
                         form_page="/dashboard/products/new")
    assert response.status_code == 422 and "Fill in at least one variant row." in page_text(response)


def test_editing_a_product_replaces_its_variants(client, router):
    owner = open_merchant(router)
    found = add_product(router, owner, "beans", variant("A"), variant("B"))
    sign_in_as(client, owner)
    form = {"ref": "beans", "category": "food/coffee", "visibility": "hidden", "title_en": "Renamed",
            "v0_sku": "A", "v0_price": "13.00", "v0_hs_code": "090121", "v0_origin_country": "JM", "v0_weight_g": "250",
            "v0_length_mm": "1", "v0_width_mm": "1", "v0_height_mm": "1"}
    response = post_form(client, f"/dashboard/products/{found.id}", form)
    assert response.status_code == 303
    saved = catalog.get_product(router=router, principal=owner, product_id=found.id)
    assert saved.title == {"en": "Renamed"} and saved.visibility == "hidden"
    assert [(v.sku, v.base_price) for v in saved.variants] == [("A", 1300)]


def test_a_count_below_what_checkouts_hold_is_shown_on_the_stock_field_and_a_sale_makes_the_form_stale(client, router):
    from datetime import timedelta

    from marketplace.inventory import service as inventory

    owner = open_merchant(router)
    found = add_product(router, owner, "beans", variant("A"))  # KGN 10
    with router.unit_of_work(owner.region) as uow:
        inventory.reserve(uow.session, reservation_id="ord-dash", merchant_id=owner.merchant_id,
                          lines=[(found.variants[0].id, 4)], expires_in=timedelta(minutes=15))
        uow.commit()
    sign_in_as(client, owner)
    form = {"ref": "beans", "category": "food/coffee", "visibility": "public", "title_en": "Coffee beans",
            "v0_sku": "A", "v0_price": "12.50", "v0_hs_code": "090121", "v0_origin_country": "JM", "v0_weight_g": "250",
            "v0_length_mm": "100", "v0_width_mm": "60", "v0_height_mm": "180", "v0_stock": "KGN=3"}
    refused = post_form(client, f"/dashboard/products/{found.id}", form)
    assert refused.status_code == 422 and 'id="v0_stock-error"' in refused.get_data(as_text=True)
    assert "at least 4 (reserved by checkouts)" in page_text(refused)

    page = client.get(f"/dashboard/products/{found.id}").get_data(as_text=True)
    loaded = {name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1) for name in ("revision", "loaded")}
    with router.unit_of_work(owner.region) as uow:  # a sale lands while the merchant types
        inventory.commit(uow.session, reservation_id="ord-dash")
        uow.commit()
    stale = post_form(client, f"/dashboard/products/{found.id}", {**form, **loaded, "v0_stock": "KGN=10"})
    assert stale.status_code == 409 and "Someone changed this product" in page_text(stale)
    assert catalog.get_product(router=router, principal=owner, product_id=found.id).variants[0].stock == {"KGN": 6}


def test_a_merchant_cannot_open_or_change_another_merchants_product(client, router):
    owner = open_merchant(router, "blue-mountain")
    other = open_merchant(router, "cibao-cacao", "DO")
    theirs = add_product(router, other, "cacao")
    sign_in_as(client, owner)
    assert client.get(f"/dashboard/products/{theirs.id}").status_code == 404
    attempt = post_form(client, f"/dashboard/products/{theirs.id}", {"ref": "mine", "title_en": "Mine"}, form_page="/dashboard/products/new")
    assert attempt.status_code == 404
    assert catalog.get_product(router=router, principal=other, product_id=theirs.id).ref == "cacao"
    assert "cacao" not in page_text(client.get("/dashboard/products/"))


# Account pages ------------------------------------------------------------------------------

def test_an_api_key_is_shown_once_listed_and_revoked(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    made = post_form(client, "/dashboard/api-keys", {"name": "warehouse"}, follow_redirects=True)
    assert made.status_code == 200 and made.request.method == "GET"
    token = re.search(r'id="new-token" class="token" type="text" value="(cpu\.[^"]+)"', made.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/merchant/settings", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    listing = client.get("/dashboard/api-keys")
    assert token not in listing.get_data(as_text=True)
    assert "warehouse" in page_text(listing) and "never" not in page_text(listing)  # its use was recorded
    key_id = re.search(r'/dashboard/api-keys/(key_[0-9A-Z]+)/revoke', listing.get_data(as_text=True)).group(1)
    revoked = post_form(client, f"/dashboard/api-keys/{key_id}/revoke", {}, form_page="/dashboard/api-keys")
    assert revoked.status_code == 303
    assert client.get("/api/v1/merchant/settings", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "revoked" in page_text(client.get("/dashboard/api-keys"))


def test_settings_are_saved_and_bad_ones_shown(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    page = client.get("/dashboard/settings")
    assert_accessible_outline(page)
    saved = post_form(client, "/dashboard/settings", {"name": "New Name", "legal_name": "New Ltd", "tax_id": "",
                                                       "default_currency": "USD", "default_language": "es",
                                                       "languages": ["en", "es"]})
    assert saved.status_code == 303
    merchant = accounts.get_merchant(router=router, principal=owner)
    assert (merchant.name, merchant.default_currency, merchant.languages, merchant.tax_id) == ("New Name", "USD", ["es", "en"], None)

    bad = post_form(client, "/dashboard/settings", {"name": "", "legal_name": "x", "default_currency": "ZZZ", "default_language": "es"})
    assert bad.status_code == 422 and 'id="name-error"' in bad.get_data(as_text=True)


# Imports ------------------------------------------------------------------------------------

class FakeImporter:
    """Stands in for marketplace.catalog.importer's two functions, with the same signatures."""

    def __init__(self, router):
        self.router, self.jobs = router, {}

    def submit_job(self, *, router, principal, filename, content):
        job = ImportJob(id="imp_01M897S1J8D38N1K4DV6KSQSH1", region=principal.region, merchant_id=principal.merchant_id,
                        filename=filename, format=filename.rpartition(".")[2], content=content, status="queued",
                        total_rows=4, processed_rows=0, report={})
        self.jobs[job.id] = job
        return job

    def get_job(self, *, router, principal, job_id):
        job = self.jobs.get(job_id)
        if job is None or job.merchant_id != principal.merchant_id:
            from marketplace.errors import NotFound
            raise NotFound(f"No import {job_id}.")
        return job


def test_the_import_pages_show_progress_then_counts_and_row_errors(client, router, monkeypatch):
    from marketplace.catalog import importer

    fake = FakeImporter(router)
    monkeypatch.setattr(importer, "submit_job", fake.submit_job, raising=False)
    monkeypatch.setattr(importer, "get_job", fake.get_job, raising=False)
    owner = open_merchant(router)
    sign_in_as(client, owner)
    assert_accessible_outline(client.get("/dashboard/imports/"))

    missing = post_form(client, "/dashboard/imports/", {}, form_page="/dashboard/imports/")
    assert missing.status_code == 422 and "Choose a CSV or JSON file." in page_text(missing)

    response = post_form(client, "/dashboard/imports/", {"file": (io.BytesIO(b"product_ref\n"), "exports/2025/catalog.csv")},
                         form_page="/dashboard/imports/", content_type="multipart/form-data")
    assert response.status_code == 303
    job = fake.jobs["imp_01M897S1J8D38N1K4DV6KSQSH1"]
    assert job.filename == "catalog.csv" and job.content == b"product_ref\n"

    running = client.get(response.headers["Location"])
    assert '<meta http-equiv="refresh" content="1">' in running.get_data(as_text=True)
    assert_accessible_outline(running)

    job.status, job.processed_rows = "done", 4
    job.report = {"created": 1, "updated": 1, "unchanged": 0,
                  "errors": [{"line": 3, "column": "price", "reason": "not an amount"}, {"line": 5, "column": "hs_code", "reason": "6 to 10 digits"}]}
    done = client.get(response.headers["Location"])
    body = done.get_data(as_text=True)
    assert 'http-equiv="refresh"' not in body
    assert re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", body) == [
        ("3", "price", "not an amount"), ("5", "hs_code", "6 to 10 digits")]
    assert 'id="count-created">1<' in body and 'id="count-errors">2<' in body

    other = open_merchant(router, "cibao-cacao", "DO")
    sign_in_as(client, other)
    assert client.get(response.headers["Location"]).status_code == 404


def test_an_upload_is_imported_by_the_relay_and_its_report_shown(app, client, router, platform):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    header = ("product_ref,category,title_en,sku,price,tiers,hs_code,origin_country,weight_g,length_mm,width_mm,height_mm,stock\n")
    rows = ("BEANS,food/coffee,Beans,BEANS-250,12.50,12:11.00|144:9.50,090121,JM,250,120,80,50,KGN=100|MBJ=20\n"
            "SAUCE,food/hot-sauces,Sauce,SAUCE-6,twelve,,210390,JM,1800,250,170,200,KGN=5\n")
    response = post_form(client, "/dashboard/imports/", {"file": (io.BytesIO((header + rows).encode()), "catalog.csv")},
                         form_page="/dashboard/imports/", content_type="multipart/form-data")
    assert response.status_code == 303
    assert 'http-equiv="refresh"' in client.get(response.headers["Location"]).get_data(as_text=True)

    with app.app_context():  # the relay's handler finds the router through the app
        platform.relay().drain()
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in body
    assert 'id="count-created">1<' in body and 'id="count-errors">1<' in body
    assert re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", body) == [("3", "price")]


def test_an_upload_the_importer_refuses_is_shown_on_the_form(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    response = post_form(client, "/dashboard/imports/", {"file": (io.BytesIO(b"x"), "catalog.xlsx")},
                         form_page="/dashboard/imports/", content_type="multipart/form-data")
    assert response.status_code == 422 and "must end in .csv or .json" in page_text(response)


def test_a_file_the_relay_cannot_read_ends_failed_with_the_reason(app, client, router, platform):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    response = post_form(client, "/dashboard/imports/", {"file": (io.BytesIO(b"colour,size\nred,big\n"), "catalog.csv")},
                         form_page="/dashboard/imports/", content_type="multipart/form-data")
    with app.app_context():
        platform.relay().drain()
    failed = client.get(response.headers["Location"])
    assert "The import failed" in page_text(failed)
    assert re.findall(r"<tr><td>(\d*)</td><td>([^<]*)</td>", failed.get_data(as_text=True)) == [("1", "")]


def test_the_import_summary_counts_rows_to_fix_not_messages(app, client, router, platform):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    header = "product_ref,category,title_en,sku,price,tiers,hs_code,origin_country,weight_g,length_mm,width_mm,height_mm,stock\n"
    rows = ("BEANS,food/coffee,Beans,BEANS-250,twelve,,090121,JM,heavy,120,80,50,KGN=100\n"  # two bad cells, one row
            "SAUCE,food/hot-sauces,Sauce,SAUCE-6,12.00,,210390,JM,1800,250,170,200,KGN=5\n")
    response = post_form(client, "/dashboard/imports/", {"file": (io.BytesIO((header + rows).encode()), "catalog.csv")},
                         form_page="/dashboard/imports/", content_type="multipart/form-data")
    assert response.status_code == 303
    with app.app_context():
        platform.relay().drain()
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    cells = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td>", body)
    assert len(cells) == 2 and {line for line, _ in cells} == {"2"}
    assert 'id="count-errors">1<' in body
