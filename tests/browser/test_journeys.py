"""Whole journeys in a real browser, on a phone-sized screen, without any JavaScript of ours."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"
SCREENSHOT = "/tmp/storefront-product-phone.png"


def sign_up(page: Page, trading_name: str) -> str:
    """Open a storefront through the sign-up form; answers its handle."""
    handle = f"shop-{uuid.uuid4().hex[:10]}"
    page.goto("/")
    page.get_by_role("link", name="Sell here: open a storefront").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a storefront")
    page.get_by_label("Trading name").fill(trading_name)
    page.get_by_label("Legal name").fill(f"{trading_name} Ltd")
    page.get_by_label("Home country").select_option("JM")
    page.get_by_label("Storefront address").fill(handle)
    page.get_by_label("Email").fill(f"owner@{handle}.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Open my storefront").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(trading_name)
    return handle


def test_a_merchant_signs_up_adds_a_product_and_sees_its_volume_prices(page: Page):
    handle = sign_up(page, "Blue Mountain Roasters")

    page.get_by_role("link", name="Add a product").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New product")
    page.get_by_label("Your reference").fill("BMR-BEANS")
    page.get_by_label("Category").select_option("food/coffee")
    page.get_by_label("Title in English").fill("Blue Mountain beans")
    page.get_by_label("Title in Spanish").fill("Granos Blue Mountain")
    page.get_by_label("Description in English").fill("Washed arabica from the Blue Mountains.\n\nRoasted in Kingston.")
    variants = [
        {"sku": "BMR-250", "options": "size=250 g | roast=medium", "price": "12.50", "moq": "12", "case_pack": "6",
         "stock": "KGN=100 | MBJ=20", "weight_g": "250",
         "tiers": [("24", "11.00"), ("48", "10.00"), ("144", "9.50")]},
        {"sku": "BMR-1K", "options": "size=1 kg", "price": "40.00", "moq": "", "case_pack": "", "stock": "KGN=30",
         "weight_g": "1000", "tiers": []},
    ]
    for row, variant in enumerate(variants):
        fieldset = page.get_by_role("group", name=f"Variant {row + 1}", exact=True)
        fieldset.get_by_label("SKU").fill(variant["sku"])
        fieldset.get_by_label("Options").fill(variant["options"])
        fieldset.get_by_label("Price per unit").fill(variant["price"])
        fieldset.get_by_label("Minimum order (units)").fill(variant["moq"])
        fieldset.get_by_label("Case pack (units per case)").fill(variant["case_pack"])
        fieldset.get_by_label("HS code").fill("090121")
        fieldset.get_by_label("Country of origin").fill("JM")
        fieldset.get_by_label("Weight (g)").fill(variant["weight_g"])
        for measure in ("Length (mm)", "Width (mm)", "Height (mm)"):
            fieldset.get_by_label(measure).fill("100")
        fieldset.get_by_label("Stock").fill(variant["stock"])
        for n, (quantity, price) in enumerate(variant["tiers"]):
            fieldset.get_by_label(f"Tier {n + 1}: from quantity").fill(quantity)
            fieldset.get_by_label(f"Tier {n + 1}: unit price").fill(price)
    page.get_by_role("button", name="Save product").click()
    expect(page.get_by_role("status")).to_contain_text("Product BMR-BEANS added.")

    page.goto(f"/s/{handle}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Blue Mountain Roasters")
    page.get_by_role("link", name="Blue Mountain beans").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Blue Mountain beans")

    table = page.get_by_role("table", name="Unit price by quantity: size: 250 g, roast: medium")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table.locator("tbody tr")).to_have_text([re.compile(r"12\s*JMD12\.50"), re.compile(r"24\s*JMD11\.00"),
                                                    re.compile(r"48\s*JMD10\.00"), re.compile(r"144\s*JMD9\.50")])

    # The variant picker: a quantity below the minimum order is explained, a good one is quoted.
    page.get_by_label("Variant", exact=True).select_option(label="size: 250 g, roast: medium")
    page.get_by_label("Quantity", exact=True).fill("6")
    page.get_by_role("button", name="Show price").click()
    expect(page.get_by_text("The minimum order for this item is 12 units.")).to_be_visible()
    expect(page.get_by_text("Minimum order: 12 units.")).to_be_visible()
    expect(page.get_by_text("Sold in cases of 6 units: order 12, 18, 24 and so on.")).to_be_visible()
    page.get_by_label("Quantity", exact=True).fill("48")
    page.get_by_role("button", name="Show price").click()
    expect(page.get_by_role("status")).to_contain_text("48 × JMD10.00 = JMD480.00")
    page.screenshot(path=SCREENSHOT, full_page=True)

    # The same page in Spanish, with the other variant chosen.
    page.get_by_role("link", name="Español").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Granos Blue Mountain")
    page.get_by_label("Variante", exact=True).select_option(label="size: 1 kg")
    page.get_by_label("Cantidad", exact=True).fill("2")
    page.get_by_role("button", name="Ver precio").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"2 × 40,00\s*JMD = 80,00\s*JMD"))


def import_file(rows: list[dict[str, str]]) -> bytes:
    columns = ("product_ref,category,title_en,title_es,title_fr,title_nl,description_en,description_es,description_fr,"
               "description_nl,visibility,image_urls,ships_to_exclusions,sku,options,price,tiers,moq,case_pack,hs_code,"
               "origin_country,weight_g,length_mm,width_mm,height_mm,stock").split(",")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def import_row(ref: str, sku: str, **cells: str) -> dict[str, str]:
    return {"product_ref": ref, "category": "food/coffee", "title_en": f"Coffee {ref}", "visibility": "public",
            "sku": sku, "options": "size=250 g|roast=dark", "price": "12.50", "tiers": "12:11.00|144:9.50", "moq": "1",
            "case_pack": "1", "hs_code": "090121", "origin_country": "JM", "weight_g": "250", "length_mm": "120",
            "width_mm": "80", "height_mm": "50", "stock": "KGN=100|MBJ=20", **cells}


def test_an_import_with_two_bad_rows_reports_exactly_those_rows(page: Page):
    sign_up(page, "Kingston Importers")
    content = import_file([
        import_row("IMP-A", "IMP-A-250"),                          # line 2
        import_row("IMP-A", "IMP-A-1K", options="size=1 kg"),      # line 3
        import_row("IMP-B", "IMP-B-250", price="12.5.0"),          # line 4: not an amount
        import_row("IMP-C", "IMP-C-250"),                          # line 5
        import_row("IMP-D", "IMP-D-250", hs_code="12"),            # line 6: not an HS code
    ])

    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import products")
    page.get_by_label("File (CSV or JSON)").set_input_files(
        files=[{"name": "catalog.csv", "mimeType": "text/csv", "buffer": content}])
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of catalog.csv")

    # The page refreshes itself every second until the server's relay thread has run the job.
    try:
        expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=15_000)
    except AssertionError:
        pytest.fail(f"the import job did not finish: {page.get_by_role('status').first.inner_text()!r}; the relay "
                    "thread has no app context, so its handler needs the router (app.py: "
                    "importer.register_handlers(current.handlers, router))")
    expect(page.locator("#count-created")).to_have_text("2")
    expect(page.locator("#count-errors")).to_have_text("2")
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(0)).to_have_text("4")
    expect(rows.nth(0).locator("td").nth(1)).to_have_text("price")
    expect(rows.nth(1).locator("td").nth(0)).to_have_text("6")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("hs_code")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0

    page.get_by_role("link", name="See your products").click()
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(2)
