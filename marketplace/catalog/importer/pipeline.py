"""`import_rows`: one file read, checked against the API's rules and written batch by batch."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.catalog.importer.errors import ImportRefused
from marketplace.catalog.importer.formats import csv_records, decode, format_of, json_items, json_records
from marketplace.catalog.importer.rows import Draft, drafts_from_objects, drafts_from_rows, validate
from marketplace.catalog.importer.writer import Report, batches, write_batch
from marketplace.errors import NotFound
from marketplace.merchants.auth import Principal
from marketplace.merchants.models import Merchant
from marketplace.regions.router import Router


def import_rows(router: Router, principal: Principal, content: bytes, filename: str,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Import a CSV or JSON catalog file for the principal's merchant; answers the report.

    `progress(done, total)` is called with data rows after reading and after each batch.
    """
    file_format = format_of(filename)
    currency = _currency_of(router, principal)
    drafts, stray = _read(content, file_format, currency)
    report = Report(sum(d.rows for d in drafts) + len(stray), stray)
    done = len(stray)
    if progress:
        progress(done, report.rows)
    for batch in batches(drafts):
        for draft in batch:
            validate(draft)
        write_batch(router, principal, batch, report)
        done += sum(d.rows for d in batch)
        if progress:
            progress(done, report.rows)
    return report.as_dict()


def _currency_of(router: Router, principal: Principal) -> str:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, principal.merchant_id)
    if merchant is None:
        raise NotFound(f"No merchant {principal.merchant_id}.")
    if not merchant.default_currency:
        raise ImportRefused("set the merchant's default currency first: prices in the file are in it")
    return merchant.default_currency


def _read(content: bytes, file_format: str, currency: str) -> tuple[list[Draft], list[dict]]:
    """The products in the file, and the errors of rows that belong to none."""
    text, stray = decode(content), []
    if file_format == "csv":
        return drafts_from_rows(csv_records(text), currency, stray), stray
    items = list(json_items(text))
    if items and isinstance(items[0][1], dict) and "product_ref" in items[0][1]:
        return drafts_from_rows(json_records(items), currency, stray), stray
    return drafts_from_objects(items, currency, stray), stray
