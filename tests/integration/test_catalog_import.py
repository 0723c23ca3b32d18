"""Bulk import and export of a merchant's catalog: the formats, the API's rules row by row,
the upsert that makes a re-import change nothing, the job run by the relay, and the commands.
Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from marketplace.catalog import exporter, importer, service
from marketplace.catalog.models import ImportJob, Product, Variant
from marketplace.errors import InvalidInput, NotFound
from marketplace.merchants.accounts import sign_up
from marketplace.money import Money, MoneyError
from marketplace.regions import outbox
from marketplace.regions.base import utcnow
from marketplace.regions.models import OutboxEvent
from marketplace.regions.outbox import HandlerRegistry, Relay

FIXTURES = Path(__file__).parents[1] / "fixtures"
GOOD_CSV = FIXTURES / "catalog.csv"
GOOD_JSON = FIXTURES / "catalog.json"
HS_SHAPE = "6 to 10 digits (the first 6 are the international HS heading)"


@pytest.fixture
def merchant(router):
    return sign_up(router=router, trading_name="Blue Mountain Coffee Traders", legal_name="BMCT Ltd", home_country="JM",
                   email="owner@bmct.example", password="long enough pw", handle="bmct")


@pytest.fixture
def rival(router):
    return sign_up(router=router, trading_name="Kingston Roasters", legal_name="KR Ltd", home_country="JM",
                   email="owner@kr.example", password="long enough pw", handle="kingston-roasters")


def money_error(text: str) -> str:
    """What marketplace.money says about an amount it cannot read (the import passes it on)."""
    with pytest.raises(MoneyError) as error:
        Money.parse(text, "JMD")
    return str(error.value)


def row(**cells: str) -> dict[str, str]:
    """A valid CSV row (one variant of product COF-1), with the cells given replaced."""
    return {"product_ref": "COF-1", "category": "food/coffee", "title_en": "Coffee", "sku": "COF-1-A", "price": "12.50",
            "hs_code": "090121", "origin_country": "JM", "weight_g": "250", "length_mm": "120", "width_mm": "80",
            "height_mm": "50", "stock": "KGN=10", **cells}


def csv_bytes(*rows: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=importer.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def import_csv(router, principal, *rows):
    return importer.import_rows(router, principal, csv_bytes(*rows), "catalog.csv")


def products_of(router, principal) -> dict[str, Product]:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        products = uow.session.scalars(select(Product).where(Product.merchant_id == principal.merchant_id)).all()
        return {p.ref: p for p in products}


def events(router, region, topic="catalog.product.changed") -> int:
    with router.unit_of_work(region, read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == topic))


# The formats -----------------------------------------------------------------------------------

def test_good_csv_file_imports_every_product_and_variant(router, merchant):
    report = importer.import_rows(router, merchant, GOOD_CSV.read_bytes(), "catalog.csv")

    assert report == {"created": 3, "updated": 0, "unchanged": 0, "errors": [], "rows": 5, "rows_with_errors": 0}
    products = products_of(router, merchant)
    assert sorted(products) == ["BMC-250", "RUM-OAK", "SAUCE-6"]
    coffee = products["BMC-250"]
    assert coffee.title == {"en": "Blue Mountain coffee", "es": "Café Blue Mountain", "fr": "Café Blue Mountain",
                            "nl": "Blue Mountain-koffie"}
    assert coffee.image_urls == ["https://img.example.com/bmc-1.jpg", "https://img.example.com/bmc-2.jpg"]
    assert coffee.ships_to_exclusions == ["US", "CU"]
    medium = next(v for v in coffee.variants if v.sku == "BMC-250-MED")
    assert (medium.currency, medium.base_price) == ("JMD", 250000)
    assert medium.tiers == [{"min_quantity": 12, "unit_price": 230000}, {"min_quantity": 144, "unit_price": 210000}]
    assert medium.options == {"size": "250 g", "roast": "medium"}
    assert medium.stock == {"KGN": 100, "MBJ": 20}
    assert {v.sku for v in coffee.variants} == {"BMC-250-MED", "BMC-250-DARK"}  # blank product cells: same product
    sauce = products["SAUCE-6"].variants[0]
    assert (products["SAUCE-6"].visibility, sauce.moq, sauce.case_pack) == ("b2b", 12, 6)
    assert events(router, merchant.region) == 3


def test_csv_with_a_byte_order_mark_imports_like_one_without(router, merchant):
    report = importer.import_rows(router, merchant, b"\xef\xbb\xbf" + GOOD_CSV.read_bytes(), "catalog.csv")
    assert (report["created"], report["errors"]) == (3, [])


def test_reimporting_the_same_file_changes_nothing(router, merchant):
    importer.import_rows(router, merchant, GOOD_CSV.read_bytes(), "catalog.csv")
    before = {ref: p.updated_at for ref, p in products_of(router, merchant).items()}

    again = importer.import_rows(router, merchant, GOOD_CSV.read_bytes(), "catalog.csv")

    assert again == {"created": 0, "updated": 0, "unchanged": 3, "errors": [], "rows": 5, "rows_with_errors": 0}
    assert {ref: p.updated_at for ref, p in products_of(router, merchant).items()} == before
    assert events(router, merchant.region) == 3  # no event for an unchanged product


def test_changed_row_updates_its_product_only(router, merchant):
    importer.import_rows(router, merchant, GOOD_CSV.read_bytes(), "catalog.csv")
    changed = GOOD_CSV.read_bytes().replace(b"SAUCE-6-CASE,pack=6 bottles,4800.00", b"SAUCE-6-CASE,pack=6 bottles,4500.00")

    report = importer.import_rows(router, merchant, changed, "catalog.csv")

    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 2)
    assert products_of(router, merchant)["SAUCE-6"].variants[0].base_price == 450000


def test_file_not_in_utf8_is_refused_naming_the_line_and_nothing_is_written(router, merchant):
    latin1 = csv_bytes(row(), row(product_ref="COF-2", sku="COF-2-A", title_en="Café")).decode().encode("latin-1")

    with pytest.raises(importer.ImportRefused) as refused:
        importer.import_rows(router, merchant, latin1, "catalog.csv")

    assert refused.value.line == 3
    assert "line 3: the file is not UTF-8: byte 0xE9" in refused.value.detail
    assert refused.value.errors == {"file": [refused.value.reason]}
    assert products_of(router, merchant) == {}


def test_unknown_and_missing_columns_refuse_the_file_at_line_1(router, merchant):
    content = b"product_ref,sku,prcie\nCOF-1,COF-1-A,12.50\n"
    with pytest.raises(importer.ImportRefused) as refused:
        importer.import_rows(router, merchant, content, "catalog.csv")
    assert refused.value.line == 1
    assert "unknown columns prcie" in refused.value.reason and "missing columns category, price" in refused.value.reason


def test_header_names_in_capitals_and_empty_trailing_columns_are_accepted(router, merchant):
    header, *rows = GOOD_CSV.read_text(encoding="utf-8").splitlines()
    content = "\n".join([header.upper() + ",,", *(line + ",," for line in rows)]).encode()
    assert importer.import_rows(router, merchant, content, "CATALOG.CSV")["created"] == 3


def test_value_under_an_unnamed_column_is_an_error_on_its_row(router, merchant):
    content = csv_bytes(row()).replace(b"\n", b",\n", 1) + b"COF-2,food/coffee,Tea" + b"," * 23 + b",surprise\n"
    report = importer.import_rows(router, merchant, content, "catalog.csv")
    assert {"line": 3, "column": None, "reason": "a value in a column the header does not name"} in report["errors"]


def test_file_name_must_say_csv_or_json(router, merchant):
    with pytest.raises(importer.ImportRefused, match="must end in .csv or .json"):
        importer.import_rows(router, merchant, GOOD_CSV.read_bytes(), "catalog.xlsx")


def test_json_product_objects_import_and_reimport_unchanged(router, merchant):
    report = importer.import_rows(router, merchant, GOOD_JSON.read_bytes(), "catalog.json")
    assert report == {"created": 2, "updated": 0, "unchanged": 0, "errors": [], "rows": 3, "rows_with_errors": 0}
    nutmeg = products_of(router, merchant)["NUT-100"]
    assert {v.sku: v.base_price for v in nutmeg.variants} == {"NUT-100-G": 850, "NUT-1KG": 7200}

    again = importer.import_rows(router, merchant, GOOD_JSON.read_bytes(), "catalog.json")
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_json_rows_with_the_csv_columns_import(router, merchant):
    rows = [row(price=12.5, weight_g=250), row(sku="COF-1-B", options="size=1 kg", price="40.00")]
    report = importer.import_rows(router, merchant, json.dumps(rows, indent=1).encode(), "rows.json")
    assert (report["created"], report["errors"], report["rows"]) == (1, [], 2)
    assert {v.sku: v.base_price for v in products_of(router, merchant)["COF-1"].variants} == {"COF-1-A": 1250, "COF-1-B": 4000}


def test_json_errors_name_the_line_where_the_object_starts_and_the_field(router, merchant):
    products = json.loads(GOOD_JSON.read_text())
    products[1]["variants"][0]["hs_code"] = "46"
    content = json.dumps(products, indent=2).encode()
    basket_line = content[:content.index(b'"ref": "BASKET-L"')].count(b"\n")  # the line of its opening brace

    report = importer.import_rows(router, merchant, content, "catalog.json")

    assert report["errors"] == [{"line": basket_line, "column": "variants.0.hs_code", "reason": HS_SHAPE}]
    assert sorted(products_of(router, merchant)) == ["NUT-100"]


def test_json_ref_or_sku_in_two_products_is_an_error_even_when_minified(router, merchant):
    nutmeg, basket = json.loads(GOOD_JSON.read_text())
    twin = {**basket, "ref": "BASKET-S", "variants": [{**basket["variants"][0], "sku": "NUT-1KG"}]}
    content = json.dumps([nutmeg, basket, {**nutmeg, "variants": nutmeg["variants"][:1]}, twin]).encode()

    report = importer.import_rows(router, merchant, content, "catalog.json")

    assert report["errors"] == [
        {"line": 1, "column": "ref", "reason": "product NUT-100 is also on line 1"},
        {"line": 1, "column": "variants.0.sku", "reason": "SKU NUT-100-G is also in product NUT-100 (line 1)"},
        {"line": 1, "column": "variants.0.sku", "reason": "SKU NUT-1KG is also in product NUT-100 (line 1)"},
    ]
    assert report["created"] == 2


def test_broken_json_is_refused_naming_the_line(router, merchant):
    with pytest.raises(importer.ImportRefused) as refused:
        importer.import_rows(router, merchant, b'[\n  {"ref": "A",\n  "category" "food"}\n]', "catalog.json")
    assert refused.value.line == 3 and "not valid JSON" in refused.value.reason


# The rules, row by row -------------------------------------------------------------------------

def test_bad_rows_are_reported_by_line_and_column_and_good_rows_are_committed(router, merchant):
    report = import_csv(
        router, merchant,
        row(product_ref="P1", sku="P1-A"),
        row(product_ref="P2", sku="P2-A", hs_code="12AB"),
        row(product_ref="P3", sku="P3-A"),
        row(product_ref="P4", sku="P4-A", weight_g="2.5kg"),
    )

    assert report["errors"] == [
        {"line": 3, "column": "hs_code", "reason": HS_SHAPE},
        {"line": 5, "column": "weight_g", "reason": "'2.5kg' is not a whole number"},
    ]
    assert (report["created"], report["rows"]) == (2, 4)
    assert sorted(products_of(router, merchant)) == ["P1", "P3"]


@pytest.mark.parametrize(("cells", "column", "reason"), [
    ({"hs_code": "0901"}, "hs_code", HS_SHAPE),
    ({"price": "-1.00"}, "price", "must not be negative"),
    ({"price": "12,50"}, "price", money_error("12,50")),
    ({"price": "12.505"}, "price", money_error("12.505")),
    ({"tiers": "144:9.50|12:9.00"}, "tiers", "tier 2: quantities must rise (from 12 after 144)"),
    ({"moq": "10", "case_pack": "6"}, "moq", "must be a multiple of the case pack (6)"),
    ({"origin_country": "XX"}, "origin_country", "an ISO 3166-1 alpha-2 country code"),
    ({"category": "food/cheese"}, "category", "unknown category 'food/cheese'"),
    ({"weight_g": "0"}, "weight_g", "must be more than 0"),
    ({"weight_g": "1.5"}, "weight_g", "'1.5' is not a whole number"),
    ({"tiers": "12-11.00"}, "tiers", "tier '12-11.00' is not quantity:price (e.g. 12:11.00)"),
    ({"stock": "KGN"}, "stock", "'KGN' is not name=value (e.g. KGN=100|MBJ=20)"),
    ({"sku": "COF 2"}, "sku", "letters, digits and . _ / - only"),
    ({"title_en": ""}, "title_en", "a title in at least one language"),
])
def test_the_api_rules_are_reported_for_their_row(router, merchant, cells, column, reason):
    report = import_csv(router, merchant, row(product_ref="OK", sku="OK-1"), row(product_ref="COF-2", sku="COF-2-A") | cells)

    assert report["errors"] == [{"line": 3, "column": column, "reason": reason}]
    assert sorted(products_of(router, merchant)) == ["OK"]


def test_a_product_with_a_bad_row_is_not_written_at_all(router, merchant):
    first = import_csv(router, merchant, row(sku="A"), row(sku="B"), row(sku="C"))
    assert first["created"] == 1

    report = import_csv(router, merchant, row(sku="A", price="9.00"), row(sku="B", hs_code="1"), row(sku="C", price="9.00"))

    note = "not imported: product COF-1 has errors on line 3"
    assert report["errors"] == [
        {"line": 2, "column": "product_ref", "reason": note},
        {"line": 3, "column": "hs_code", "reason": HS_SHAPE},
        {"line": 4, "column": "product_ref", "reason": note},
    ]
    variants = {v.sku: v.base_price for v in products_of(router, merchant)["COF-1"].variants}
    assert variants == {"A": 1250, "B": 1250, "C": 1250}  # B is not deleted, A and C not half-updated


def test_later_row_with_a_different_product_column_is_an_error_on_that_row(router, merchant):
    report = import_csv(router, merchant, row(sku="A"), row(sku="B", category="food/spices"))
    assert report["errors"] == [
        {"line": 2, "column": "product_ref", "reason": "not imported: product COF-1 has errors on line 3"},
        {"line": 3, "column": "category", "reason": "differs from line 2, this product's first row"},
    ]
    assert products_of(router, merchant) == {}


def test_sku_twice_in_the_file_or_of_another_product_is_refused(router, merchant):
    import_csv(router, merchant, row(product_ref="OLD", sku="TAKEN"))

    report = import_csv(router, merchant, row(product_ref="P1", sku="TWICE"), row(product_ref="P2", sku="TWICE"),
                        row(product_ref="P3", sku="TAKEN"))

    assert report["errors"] == [
        {"line": 3, "column": "sku", "reason": "SKU TWICE is also on line 2"},
        {"line": 4, "column": "sku", "reason": "SKU TAKEN belongs to your product OLD"},
    ]
    assert sorted(products_of(router, merchant)) == ["OLD", "P1"]


def test_a_row_without_product_ref_is_reported(router, merchant):
    report = import_csv(router, merchant, row(product_ref=""), row(product_ref="P2", sku="P2-A"))
    assert report["errors"] == [{"line": 2, "column": "product_ref", "reason": "required: the product this row's variant belongs to"}]
    assert report["created"] == 1


def test_database_error_rolls_back_only_that_product(router, merchant, monkeypatch):
    import_csv(router, merchant, row(product_ref="OLD", sku="TAKEN"))
    real_write = service.write_product

    def write_then_clash(session, merchant_row, data, product):
        written = real_write(session, merchant_row, data, product)
        if data["ref"] == "P2":  # a second variant with an SKU the database already holds
            written[0].variants.append(Variant(id="var_01J0000000000000000000CLSH", region=merchant_row.region,
                                               merchant_id=merchant_row.id, currency="JMD",
                                               sku="TAKEN", **{k: v for k, v in data["variants"][0].items() if k not in ("sku", "stock")}))
        return written

    monkeypatch.setattr(service, "write_product", write_then_clash)
    report = import_csv(router, merchant, row(product_ref="P1", sku="P1-A"), row(product_ref="P2", sku="P2-A"),
                        row(product_ref="P3", sku="P3-A"))

    assert report["errors"] == [{"line": 3, "column": None, "reason": "the database refused this product; none of it was written"}]
    assert (report["created"], sorted(products_of(router, merchant))) == (2, ["OLD", "P1", "P3"])
    with router.unit_of_work(merchant.region, read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Variant).where(Variant.sku == "P2-A")) == 0
    assert events(router, merchant.region) == 3  # OLD, P1, P3: P2's event went with its savepoint


# Export ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("export", [exporter.export_csv, exporter.export_json])
def test_export_reimports_with_everything_unchanged(router, merchant, export):
    importer.import_rows(router, merchant, GOOD_CSV.read_bytes(), "catalog.csv")
    importer.import_rows(router, merchant, GOOD_JSON.read_bytes(), "catalog.json")

    content = export(router, merchant)
    suffix = "csv" if export is exporter.export_csv else "json"
    report = importer.import_rows(router, merchant, content, f"export.{suffix}")

    assert report == {"created": 0, "updated": 0, "unchanged": 5, "errors": [], "rows": 8, "rows_with_errors": 0}
    assert export(router, merchant) == content


def test_export_into_another_merchant_creates_the_same_catalog(router, merchant, rival):
    importer.import_rows(router, merchant, GOOD_CSV.read_bytes(), "catalog.csv")
    report = importer.import_rows(router, rival, exporter.export_csv(router, merchant), "export.csv")
    assert (report["created"], report["errors"]) == (3, [])
    assert exporter.export_csv(router, rival) == exporter.export_csv(router, merchant)


def test_csv_export_refuses_a_product_csv_cannot_carry(router, merchant):
    data = {"ref": "PIPE", "category": "food/coffee", "title": {"en": "Coffee"}, "description": {}, "image_urls": [],
            "visibility": "public", "ships_to_exclusions": [],
            "variants": [{"sku": "PIPE-1", "options": {"blend": "a|b"}, "base_price": 100, "tiers": [], "moq": 1, "case_pack": 1,
                          "hs_code": "090121", "origin_country": "JM", "weight_g": 1, "length_mm": 1, "width_mm": 1,
                          "height_mm": 1, "stock": {}}]}
    service.create_product(router=router, principal=merchant, data=data)

    with pytest.raises(InvalidInput, match=r"CSV cannot carry some products exactly \(PIPE\)"):
        exporter.export_csv(router, merchant)
    report = importer.import_rows(router, merchant, exporter.export_json(router, merchant), "export.json")
    assert report["unchanged"] == 1


# Jobs ------------------------------------------------------------------------------------------

def test_submitted_job_is_run_by_the_relay_and_ends_done_with_the_report(platform, router, merchant):
    job = importer.submit_job(router=router, principal=merchant, filename="C:\\Users\\me\\catalog.csv",
                              content=GOOD_CSV.read_bytes())
    assert (job.status, job.filename, job.format) == ("queued", "catalog.csv", "csv")
    assert events(router, merchant.region, "catalog.import.requested") == 1

    platform.relay().drain()  # no app context needed: the app registered the handler with its router

    done = importer.get_job(router=router, principal=merchant, job_id=job.id)
    assert done.status == "done" and done.finished_at is not None
    assert (done.processed_rows, done.total_rows) == (5, 5)
    assert done.report == {"created": 3, "updated": 0, "unchanged": 0, "errors": [], "rows": 5, "rows_with_errors": 0}
    assert sorted(products_of(router, merchant)) == ["BMC-250", "RUM-OAK", "SAUCE-6"]


def test_a_finished_job_is_not_run_again(platform, router, merchant):
    job = importer.submit_job(router=router, principal=merchant, filename="catalog.csv", content=GOOD_CSV.read_bytes())
    platform.relay().drain()
    first = importer.get_job(router=router, principal=merchant, job_id=job.id)
    with router.unit_of_work(merchant.region) as uow:  # the same event delivered again
        outbox.publish(uow.session, importer.JOB_TOPIC, {"job_id": job.id, "merchant_id": merchant.merchant_id})
        uow.commit()
    stats = platform.relay().drain()

    again = importer.get_job(router=router, principal=merchant, job_id=job.id)
    assert stats.delivered == 1
    assert (again.finished_at, again.report) == (first.finished_at, first.report)  # still "created 3"


def test_job_with_an_unreadable_file_ends_failed_naming_the_line(platform, router, merchant):
    latin1 = csv_bytes(row(), row(product_ref="COF-2", sku="COF-2-A", title_en="Café")).decode().encode("latin-1")
    job = importer.submit_job(router=router, principal=merchant, filename="catalog.csv", content=latin1)
    platform.relay().drain()

    failed = importer.get_job(router=router, principal=merchant, job_id=job.id)
    assert failed.status == "failed"
    assert [(e["line"], e["column"]) for e in failed.report["errors"]] == [(3, None)]
    assert "not UTF-8" in failed.report["errors"][0]["reason"]


def test_handler_given_the_router_runs_jobs_without_an_app_context(router, merchant):
    registry = HandlerRegistry()
    importer.register_handlers(registry, router)
    job = importer.submit_job(router=router, principal=merchant, filename="catalog.json", content=GOOD_JSON.read_bytes())

    Relay(router, registry).drain()  # as the embedded relay thread does: no Flask app context

    assert importer.get_job(router=router, principal=merchant, job_id=job.id).status == "done"


def test_job_running_elsewhere_is_retried_later_and_a_stale_one_taken_over(router, merchant):
    job = importer.submit_job(router=router, principal=merchant, filename="catalog.csv", content=GOOD_CSV.read_bytes())

    def running_since(moment):
        with router.unit_of_work(merchant.region) as uow:
            uow.session.execute(update(ImportJob).where(ImportJob.id == job.id).values(
                status="running", report={"heartbeat": moment.isoformat()}))
            uow.commit()

    running_since(utcnow())
    with pytest.raises(importer.ImportJobBusy):
        importer.run_job(router=router, region=merchant.region, job_id=job.id)
    running_since(utcnow() - importer.STALE_JOB - timedelta(seconds=1))
    importer.run_job(router=router, region=merchant.region, job_id=job.id)
    assert importer.get_job(router=router, principal=merchant, job_id=job.id).report["created"] == 3


def test_job_interrupted_by_an_error_is_queued_again_and_the_retry_finishes_it(router, merchant, monkeypatch):
    job = importer.submit_job(router=router, principal=merchant, filename="catalog.csv", content=GOOD_CSV.read_bytes())
    real_import = importer.import_rows
    monkeypatch.setattr(importer, "import_rows", lambda *args, **kwargs: (_ for _ in ()).throw(OSError("disk full")))

    with pytest.raises(OSError):
        importer.run_job(router=router, region=merchant.region, job_id=job.id)
    assert importer.get_job(router=router, principal=merchant, job_id=job.id).status == "queued"

    monkeypatch.setattr(importer, "import_rows", real_import)
    importer.run_job(router=router, region=merchant.region, job_id=job.id)
    assert importer.get_job(router=router, principal=merchant, job_id=job.id).status == "done"


@pytest.mark.parametrize(("filename", "size", "problem"), [
    ("catalog.xlsx", 10, "the file name must end in .csv or .json"),
    ("catalog.csv", importer.MAX_FILE_BYTES + 1, "at most 20 MB (this one is 20.0 MB)"),
    ("catalog.json", 0, "the file is empty"),
])
def test_submit_refuses_other_files_naming_the_file_field(router, merchant, filename, size, problem):
    with pytest.raises(InvalidInput) as refused:
        importer.submit_job(router=router, principal=merchant, filename=filename, content=b"x" * size)
    assert refused.value.errors == {"file": [problem]}


def test_another_merchant_cannot_read_the_job(router, merchant, rival):
    job = importer.submit_job(router=router, principal=merchant, filename="catalog.csv", content=GOOD_CSV.read_bytes())
    with pytest.raises(NotFound):
        importer.get_job(router=router, principal=rival, job_id=job.id)
    with pytest.raises(NotFound):
        importer.get_job(router=router, principal=merchant, job_id="imp_nonsense")


# The commands ----------------------------------------------------------------------------------

def test_cli_import_shows_progress_a_summary_and_exits_0(app, merchant):
    result = app.test_cli_runner().invoke(args=["cpu", "catalog", "import", str(GOOD_CSV), "--merchant", merchant.merchant_id])

    assert result.exit_code == 0, result.output
    assert result.stdout == "5 rows; products: 3 created, 0 updated, 0 unchanged; 0 errors\n"
    assert "catalog.csv: 100%" in result.stderr and "5/5" in result.stderr


def test_cli_import_lists_the_errors_and_exits_1_when_a_row_failed(app, merchant, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes(row(product_ref="P1", sku="P1-A"), row(product_ref="P2", sku="P2-A", hs_code="12AB")))

    result = app.test_cli_runner().invoke(args=["cpu", "catalog", "import", str(bad), "--merchant", merchant.merchant_id])

    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["2 rows; products: 1 created, 0 updated, 0 unchanged; 1 errors",
                                          f"  line 3, hs_code: {HS_SHAPE}"]


def test_cli_import_of_an_unreadable_file_exits_1_naming_the_line(app, merchant, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(csv_bytes(row(title_en="Café")).decode().encode("latin-1"))
    result = app.test_cli_runner().invoke(args=["cpu", "catalog", "import", str(latin1), "--merchant", merchant.merchant_id])
    assert result.exit_code == 1 and "Error: line 2: the file is not UTF-8" in result.stderr


def test_cli_refuses_an_unknown_merchant(app, router):
    result = app.test_cli_runner().invoke(args=["cpu", "catalog", "import", str(GOOD_CSV), "--merchant", "mer_01J00000000000000000000000"])
    assert result.exit_code == 2 and "there is no merchant mer_01J00000000000000000000000" in result.stderr


def test_cli_export_writes_a_file_that_imports_unchanged(app, router, merchant, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["cpu", "catalog", "import", str(GOOD_JSON), "--merchant", merchant.merchant_id])
    target = tmp_path / "out.json"

    exported = runner.invoke(args=["cpu", "catalog", "export", "--merchant", merchant.merchant_id, "-o", str(target)])
    to_stdout = runner.invoke(args=["cpu", "catalog", "export", "--merchant", merchant.merchant_id, "--format", "csv"])
    reimported = runner.invoke(args=["cpu", "catalog", "import", str(target), "--merchant", merchant.merchant_id])

    assert exported.exit_code == 0 and json.loads(target.read_text())[0]["ref"] == "BASKET-L"
    assert to_stdout.stdout_bytes == exporter.export_csv(router, merchant)
    assert reimported.stdout.startswith("3 rows; products: 0 created, 0 updated, 2 unchanged; 0 errors")


# Scale -----------------------------------------------------------------------------------------

def ten_thousand_variants() -> bytes:
    """2,500 products of 4 variants each, every row valid."""
    rows = [row(product_ref=f"P{p:05}", title_en=f"Product {p}", title_es=f"Producto {p}", sku=f"P{p:05}-{v}",
                options=f"size={v * 250} g|roast=medium", price=f"{10 + v}.50", tiers=f"12:{9 + v}.00|144:{8 + v}.00",
                moq="6", case_pack="6", stock=f"KGN={p % 100}|MBJ={v}")
            for p in range(2500) for v in range(1, 5)]
    return csv_bytes(*rows)


def test_ten_thousand_variants_import_within_thirty_seconds(router, merchant, backend, capsys):
    content = ten_thousand_variants()

    started = time.perf_counter()
    report = importer.import_rows(router, merchant, content, "big.csv")
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = importer.import_rows(router, merchant, content, "big.csv")
    second = time.perf_counter() - started

    assert (report["created"], report["errors"], report["rows"]) == (2500, [], 10_000)
    assert again["unchanged"] == 2500
    with capsys.disabled():
        print(f"\n10,000-variant import on {backend}: {first:.1f} s new, {second:.1f} s unchanged")
    assert first < 30 and second < 30


def test_a_count_below_what_checkouts_hold_refuses_that_product_alone(router, merchant):
    from marketplace.inventory import service as inventory

    import_csv(router, merchant, row(), row(product_ref="TEA-1", sku="TEA-1-A"))
    with router.unit_of_work(merchant.region) as uow:
        variant_id = uow.session.scalar(select(Variant.id).where(Variant.sku == "COF-1-A"))
        inventory.reserve(uow.session, reservation_id="ord-import", merchant_id=merchant.merchant_id,
                          lines=[(variant_id, 8)], expires_in=timedelta(minutes=15))
        uow.commit()
    report = import_csv(router, merchant, row(stock="KGN=5"), row(product_ref="TEA-1", sku="TEA-1-A", stock="KGN=40"))
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(2, "stock")]
    assert "8 units" in report["errors"][0]["reason"] and "reserved by checkouts" in report["errors"][0]["reason"]
    stocks = {p.ref: p.variants[0].stock for p in products_of(router, merchant).values()}
    assert stocks == {"COF-1": {"KGN": 10}, "TEA-1": {"KGN": 40}}
