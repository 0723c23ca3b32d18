"""The dashboard's forms as a merchant meets them: a stale edit is refused and says what
changed, every problem shows on the first submit, a new API key survives a reload without a
second key, required fields are marked, and text that is not valid text is refused on its
field. Through the Flask test client, CSRF on, as in tests/api/test_storefront_pages.py."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from marketplace.catalog import service as catalog
from marketplace.merchants import api_keys
from marketplace.storefront import products as product_pages
from tests.api.test_storefront_pages import (
    PASSWORD, add_product, count_accounts, csrf_token, new_product_form, open_merchant, page_text, post_form,
    sign_in_as, variant,
)


class FormFields(HTMLParser):
    """What a browser would submit from the page's first form with method="post" and the
    given action: inputs' values, textareas' text, selects' selected options."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.fields = action, False, {}
        self.textarea, self.select = None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action") == self.action and not self.fields
        elif not self.inside:
            return
        elif tag == "input" and attrs.get("type") != "submit":
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea":
            self.textarea = attrs["name"]
            self.fields[self.textarea] = ""
        elif tag == "select":
            self.select = attrs["name"]
            self.fields[self.select] = ""
        elif tag == "option" and "selected" in attrs:
            self.fields[self.select] = attrs.get("value") or ""

    def handle_data(self, data):
        if self.inside and self.textarea:
            self.fields[self.textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None


def form_fields(response, action: str) -> dict[str, str]:
    parser = FormFields(action)
    parser.feed(response.get_data(as_text=True))
    assert parser.fields, f"no form posting to {action}"
    return parser.fields


def error_of(response, name: str) -> str:
    """The text of the error shown next to input `name` (the empty string when there is none)."""
    found = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip() if found else ""


def post_raw(client, path: str, pairs: list[tuple[str, str]], *, form_page: str | None = None):
    """A urlencoded post written byte for byte: each value is already percent-encoded."""
    token = csrf_token(client, form_page or path)
    body = "&".join([f"csrf_token={quote(token)}", *(f"{name}={value}" for name, value in pairs)])
    return client.post(path, data=body.encode("ascii"), content_type="application/x-www-form-urlencoded")


# A stale edit ---------------------------------------------------------------------------------

def test_a_stale_product_edit_is_refused_with_what_changed_and_the_input_kept(client, router):
    owner = open_merchant(router)
    beans = add_product(router, owner, "beans", variant("A"), title={"en": "Coffee beans"})
    sign_in_as(client, owner)
    path = f"/dashboard/products/{beans.id}"
    first_tab, second_tab = form_fields(client.get(path), path), form_fields(client.get(path), path)

    saved = client.post(path, data={**first_tab, "title_en": "Renamed in the first tab"})
    assert saved.status_code == 303

    stale = client.post(path, data={**second_tab, "v0_price": "14.00"})
    assert stale.status_code == 409
    text = page_text(stale)
    assert "Changed since you opened this form" in text
    changes = re.search(r'<ul class="changed-fields">(.*?)</ul>', stale.get_data(as_text=True), re.S).group(1)
    assert "Title (English)" in changes and "Renamed in the first tab" in changes
    assert "Price" not in changes  # the merchant's own edit is not someone else's change
    shown = form_fields(stale, path)
    assert shown["v0_price"] == "14.00" and shown["title_en"] == "Coffee beans"  # what they typed is kept
    now = catalog.get_product(router=router, principal=owner, product_id=beans.id)
    assert now.title == {"en": "Renamed in the first tab"} and now.variants[0].base_price == 1250  # nothing overwritten

    # Having seen the changes, saving the form shown again puts the merchant's version in place.
    again = client.post(path, data=shown)
    assert again.status_code == 303
    now = catalog.get_product(router=router, principal=owner, product_id=beans.id)
    assert now.title == {"en": "Coffee beans"} and now.variants[0].base_price == 1400


def test_a_change_between_reading_and_saving_is_refused_the_same_way(client, router, monkeypatch):
    owner = open_merchant(router)
    beans = add_product(router, owner, "beans", variant("A"))
    sign_in_as(client, owner)
    path = f"/dashboard/products/{beans.id}"
    loaded = form_fields(client.get(path), path)
    replace = catalog.replace_product

    def someone_else_saves_first(**kwargs):
        hidden = {**_data_of(catalog.get_product(router=router, principal=owner, product_id=beans.id)), "visibility": "hidden"}
        replace(router=router, principal=owner, product_id=beans.id, data=hidden)
        return replace(**kwargs)

    monkeypatch.setattr(product_pages.catalog, "replace_product", someone_else_saves_first)
    refused = client.post(path, data={**loaded, "title_en": "Mine"})
    assert refused.status_code == 409
    assert "Who can see it" in re.search(r'<ul class="changed-fields">(.*?)</ul>', refused.get_data(as_text=True), re.S).group(1)
    now = catalog.get_product(router=router, principal=owner, product_id=beans.id)
    assert now.visibility == "hidden" and now.title["en"] != "Mine"


def _data_of(product) -> dict:
    """A stored product as the catalog service takes it."""
    fields = ("ref", "category", "title", "description", "image_urls", "visibility", "ships_to_exclusions")
    variant_fields = ("sku", "options", "base_price", "tiers", "moq", "case_pack", "hs_code", "origin_country",
                      "weight_g", "length_mm", "width_mm", "height_mm", "stock")
    return {**{k: getattr(product, k) for k in fields},
            "variants": [{k: getattr(v, k) for k in variant_fields} for v in product.variants]}


# Every problem at once -------------------------------------------------------------------------

def test_sign_up_shows_three_problems_of_different_kinds_on_the_first_submit(client, router):
    response = post_form(client, "/dashboard/signup", {
        "trading_name": "", "legal_name": "Rum Co Ltd", "home_country": "JM",
        "email": "rum@example.com", "password": "short", "handle": "-bad-",
    })
    assert response.status_code == 422
    assert error_of(response, "trading_name") == "Error: Fill this in."
    assert "At least" in error_of(response, "password")
    assert "lower-case letters" in error_of(response, "handle")
    assert 'value="-bad-"' in response.get_data(as_text=True)
    assert count_accounts(router) == 0


def test_sign_up_names_an_unknown_country_beside_other_problems(client, router):
    response = post_form(client, "/dashboard/signup", {
        "trading_name": "Rum Co", "legal_name": "", "home_country": "US",
        "email": "rum@example.com", "password": PASSWORD, "handle": "rum-co",
    })
    assert response.status_code == 422
    assert error_of(response, "legal_name") and "member state" in error_of(response, "home_country")


def test_the_product_form_shows_problems_of_every_step_on_the_first_submit(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    form = new_product_form(ref="", v0_price="abc", v1_hs_code="12", v1_moq="5", v1_case_pack="2", v1_weight_g="0")
    response = post_form(client, "/dashboard/products/new", form)
    assert response.status_code == 422
    assert "Fill this in" in error_of(response, "ref")  # step 1: what was typed
    assert "12.50" in error_of(response, "v0_price")
    assert "6 to 10 digits" in error_of(response, "v1_hs_code")  # step 3: the catalog's rules
    assert "multiple of the case pack" in error_of(response, "v1_moq")
    assert "more than 0" in error_of(response, "v1_weight_g")
    assert not error_of(response, "v0_moq") and not error_of(response, "v0_t0_price")  # no stand-in speaks
    assert catalog.list_products(router=router, principal=owner)[1] == 0


# A new API key and reloading ---------------------------------------------------------------

def test_a_new_api_key_is_shown_once_after_a_redirect_and_a_reload_makes_no_other(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    made = post_form(client, "/dashboard/api-keys", {"name": "warehouse"})
    assert made.status_code == 303 and made.headers["Location"] == "/dashboard/api-keys"

    shown = client.get("/dashboard/api-keys")
    assert shown.status_code == 200
    token = re.search(r'id="new-token" class="token" type="text" value="(cpu\.[^"]+)"', shown.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/merchant/settings", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    reloaded = client.get("/dashboard/api-keys")
    assert reloaded.status_code == 200
    assert token not in reloaded.get_data(as_text=True) and "Your new key" not in page_text(reloaded)
    assert [key.name for key in api_keys.list_(router=router, principal=owner)] == ["warehouse"]


def test_a_refused_key_name_makes_no_key_and_shows_no_secret(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    response = post_form(client, "/dashboard/api-keys", {"name": " "})
    assert response.status_code == 422 and error_of(response, "name")
    assert 'id="new-token"' not in response.get_data(as_text=True)
    assert api_keys.list_(router=router, principal=owner) == []


# Required fields ------------------------------------------------------------------------------

@pytest.mark.parametrize("path, names", [
    ("/dashboard/signup", ("trading_name", "legal_name", "home_country", "handle", "email", "password")),
    ("/dashboard/products/new", ("ref", "category", "v0_sku", "v0_price", "v0_hs_code", "v0_origin_country", "v0_weight_g")),
    ("/dashboard/settings", ("name", "legal_name", "default_currency", "default_language")),
    ("/dashboard/api-keys", ("name",)),
])
def test_required_fields_carry_required_and_a_visible_mark(client, router, path, names):
    sign_in_as(client, open_merchant(router))
    body = client.get(path).get_data(as_text=True)
    for name in names:
        control = re.search(rf'<(?:input|select) id="{name}"[^>]*>', body).group(0)
        assert " required" in control, name
        label = re.search(rf'<label for="{name}">(.*?)</label>', body, re.S).group(1)
        assert 'class="required-mark"' in label and "*" in label, name
    assert "are required" in page_text(client.get(path))
    optional = re.search(r'<label for="tax_id">(.*?)</label>', body, re.S)
    assert optional is None or "required-mark" not in optional.group(1)


# Text that is not text ------------------------------------------------------------------------

@pytest.mark.parametrize("sent, reason", [
    ("Blue%00Mountain", "control character (U+0000)"),
    ("Blue%1BMountain", "control character (U+001B)"),
    ("Blue%0AMountain", "control character (U+000A)"),  # a one-line field
    ("Blue%FFMountain", "not UTF-8"),
    ("Blue%ED%A0%80Mountain", "not UTF-8"),  # a lone surrogate, as UTF-8 would spell it
])
def test_sign_up_refuses_text_that_is_not_text_on_its_field(client, router, sent, reason):
    response = post_raw(client, "/dashboard/signup", [
        ("trading_name", sent), ("legal_name", "BMR+Ltd"), ("home_country", "JM"), ("email", "owner%40bmr.example"),
        ("password", quote(PASSWORD)), ("handle", "blue-mountain"),
    ])
    assert response.status_code == 422
    assert reason in error_of(response, "trading_name")
    assert not error_of(response, "legal_name") and 'href="#trading_name"' in response.get_data(as_text=True)
    assert count_accounts(router) == 0


def test_the_product_form_refuses_control_characters_but_keeps_newlines_in_descriptions(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    form = new_product_form(title_en="Blue\x07Mountain", description_en="Grown high.\r\nRoasted in Kingston.", v0_options="size=250\x00g")
    response = post_form(client, "/dashboard/products/new", form)
    assert response.status_code == 422
    assert "U+0007" in error_of(response, "title_en") and "U+0000" in error_of(response, "v0_options")
    assert not error_of(response, "description_en")
    assert catalog.list_products(router=router, principal=owner)[1] == 0

    fixed = post_form(client, "/dashboard/products/new", {**form, "title_en": "Blue Mountain", "v0_options": "size=250 g"})
    assert fixed.status_code == 303
    [saved], _ = catalog.list_products(router=router, principal=owner)
    assert saved.description["en"] == "Grown high.\nRoasted in Kingston."


def test_the_product_form_refuses_bytes_that_are_not_utf8_on_their_field(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    pairs = [(name, quote(value)) for name, value in new_product_form().items()]
    pairs = [(name, "Caf%E9" if name == "title_es" else value) for name, value in pairs]  # Latin-1, not UTF-8
    response = post_raw(client, "/dashboard/products/new", pairs)
    assert response.status_code == 422
    assert "not UTF-8" in error_of(response, "title_es")
    assert catalog.list_products(router=router, principal=owner)[1] == 0


def test_settings_and_key_names_refuse_control_characters(client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    key = post_raw(client, "/dashboard/api-keys", [("name", "ware%08house")])
    assert key.status_code == 422 and "U+0008" in error_of(key, "name")
    settings = post_raw(client, "/dashboard/settings", [
        ("name", "Shop%7F"), ("legal_name", "Ltd"), ("default_currency", "JMD"), ("default_language", "en"),
    ])
    assert settings.status_code == 422 and "U+007F" in error_of(settings, "name")
    assert api_keys.list_(router=router, principal=owner) == []


@pytest.mark.parametrize("query, reason", [("q=caf%00e", "U+0000"), ("q=caf%E9", "not UTF-8"), ("origin=J%07M", "U+0007")])
def test_the_storefront_search_refuses_text_that_is_not_text_naming_the_argument(client, query, reason):
    response = client.get(f"/search?{query}", headers={"Accept": "text/html"})
    assert response.status_code == 422
    name = query.partition("=")[0]
    assert f"({name}: " in page_text(response) and reason in page_text(response)


def test_a_new_keys_secret_is_not_in_the_cookie_and_a_replayed_cookie_shows_it_no_more(app, client, router):
    owner = open_merchant(router)
    sign_in_as(client, owner)
    made = post_form(client, "/dashboard/api-keys", {"name": "warehouse"})
    cookie = client.get_cookie("session")
    carried = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    shown = client.get("/dashboard/api-keys")
    token = re.search(r'value="(cpu\.[^"]+)"', shown.get_data(as_text=True)).group(1)
    secret = token.rsplit(".", 1)[1]
    assert made.status_code == 303 and secret not in repr(carried)  # a copy of the cookie does not tell it

    replay = app.test_client()
    replay.set_cookie("session", cookie.value, domain=cookie.domain)
    again = replay.get("/dashboard/api-keys")
    assert again.status_code == 200 and token not in again.get_data(as_text=True)
