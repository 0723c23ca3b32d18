"""The importer holds a file's text to the rule the API and the forms apply (marketplace.text):
a cell with a control character, or a JSON string with a lone surrogate, is an error on its
row and column; the file's other products are imported."""

from __future__ import annotations

import json

from marketplace.catalog import importer
from tests.integration.test_catalog_import import import_csv, merchant, products_of, row  # noqa: F401 (fixture)


def test_a_csv_cell_with_a_control_character_is_an_error_naming_its_column(router, merchant):
    report = import_csv(router, merchant,
                        row(),
                        row(product_ref="COF-2", sku="COF-2-A", title_en="Dark\x00roast"),
                        row(product_ref="COF-3", sku="COF-3-A", options="size=250\x1bg"))
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(3, "title_en"), (4, "options")]
    assert "control character (U+0000)" in report["errors"][0]["reason"]
    assert report["rows_with_errors"] == 2 and report["created"] == 1
    assert sorted(products_of(router, merchant)) == ["COF-1"]


def test_descriptions_may_hold_newlines_and_tabs_other_columns_may_not(router, merchant):
    report = import_csv(router, merchant,
                        row(description_en="Grown high.\n\tRoasted in Kingston."),
                        row(product_ref="COF-2", sku="COF-2-A", title_en="Two\nlines"))
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(4, "title_en")]  # the description spans lines 2-3
    assert products_of(router, merchant)["COF-1"].description == {"en": "Grown high.\n\tRoasted in Kingston."}


def test_a_product_ref_with_a_control_character_is_an_error_on_that_column(router, merchant):
    report = import_csv(router, merchant, row(), row(product_ref="COF\x072", sku="COF-2-A"))
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(3, "product_ref")]
    assert "U+0007" in report["errors"][0]["reason"]
    assert sorted(products_of(router, merchant)) == ["COF-1"]


def test_json_strings_with_a_lone_surrogate_or_nul_are_errors_naming_the_field(router, merchant):
    good = {"ref": "NUT-1", "category": "food/spices", "title": {"en": "Nutmeg"}, "description": {}, "image_urls": [],
            "visibility": "public", "ships_to_exclusions": [],
            "variants": [{"sku": "NUT-1-G", "options": {}, "base_price": 850, "tiers": [], "moq": 1, "case_pack": 1,
                          "hs_code": "090811", "origin_country": "GD", "weight_g": 100, "length_mm": 50,
                          "width_mm": 50, "height_mm": 50, "stock": {}}]}
    surrogate = {**good, "ref": "NUT-2", "title": {"en": "Nut\ud800meg"}, "variants": [{**good["variants"][0], "sku": "NUT-2-G"}]}
    nul = {**good, "ref": "NUT-3", "description": {"en": "Whole\x00nutmegs"}, "variants": [{**good["variants"][0], "sku": "NUT-3-G"}]}
    content = ("[\n" + ",\n".join(json.dumps(p) for p in (good, surrogate, nul)) + "\n]").encode("utf-8")
    report = importer.import_rows(router, merchant, content, "catalog.json")
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(3, "title.en"), (4, "description.en")]
    assert "surrogate" in report["errors"][0]["reason"] and "U+0000" in report["errors"][1]["reason"]
    assert sorted(products_of(router, merchant)) == ["NUT-1"]
