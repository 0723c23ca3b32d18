"""Bulk import of products and variants (CSV and JSON), held to the rules of the JSON API.

Formats (UTF-8; a byte-order mark is fine; any other encoding is refused, naming the line):
- CSV: a header on line 1 with the `COLUMNS` (missing optional ones are blank), then one row
  per variant. Prices in major units of the merchant's currency ("12.50"); lists separated by
  "|": tiers "12:11.00|144:9.50", options "size=250 g|roast=dark", stock "KGN=100|MBJ=20".
- JSON: a list of product objects in the JSON API shape (prices in minor units; the `id`,
  `updated_at` and variant `id` and `currency` that the API and `export_json` add are
  ignored, but a currency other than the merchant's is an error), or a list of row objects
  with the CSV columns.

Rules:
- Products are matched by `ref`, variants by SKU, and written by `service.write_product`, so
  each product named in the file is stated in full (its variants missing from the file are
  removed, as with PUT) and products not named are untouched. The same file imported twice
  changes nothing the second time.
- Rows sharing a product_ref form one product wherever they stand. Product columns come from
  its first row; a later row may leave them blank, and a different value is an error there.
- A product is written whole or not at all. When any of its rows is bad, none is written:
  writing the others would delete the variant the bad row was meant to update. Its good rows
  are reported as not imported, pointing at the bad lines. A batch of products is written in
  one SAVEPOINT; when the database refuses it, each product is written again in a SAVEPOINT
  of its own, so a database error loses that product only.
- A SKU that belongs to another of the merchant's products is refused, as in the API.

The report: `created`, `updated`, `unchanged` (products), `rows` (data rows, i.e. variants)
and `errors`, each {"line", "column", "reason"}: the line in the file (CSV: 1 is the header;
JSON: the line where the object starts). Problems with the file as a whole (encoding, header,
JSON syntax) raise ImportRefused and nothing is written.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import has_app_context
from marshmallow import ValidationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, defer

from marketplace import platform
from marketplace.catalog import service
from marketplace.catalog.models import ImportJob, Product, Variant
from marketplace.catalog.schemas import ProductSchema
from marketplace.errors import InvalidInput, NotFound
from marketplace.merchants.auth import Principal
from marketplace.merchants.models import Merchant
from marketplace.money import Money, MoneyError
from marketplace.regions import outbox
from marketplace.regions.base import utcnow
from marketplace.regions.ids import is_id, new_id
from marketplace.regions.outbox import Event, HandlerRegistry
from marketplace.regions.router import Router

log = logging.getLogger(__name__)

LANGUAGES = service.LANGUAGES
TEXT_COLUMNS = tuple(f"{name}_{language}" for name in ("title", "description") for language in LANGUAGES)
PRODUCT_COLUMNS = ("category", *TEXT_COLUMNS, "visibility", "image_urls", "ships_to_exclusions")
VARIANT_COLUMNS = ("sku", "options", "price", "tiers", "moq", "case_pack", "hs_code", "origin_country",
                   "weight_g", "length_mm", "width_mm", "height_mm", "stock")
COLUMNS = ("product_ref", *PRODUCT_COLUMNS, *VARIANT_COLUMNS)
REQUIRED_COLUMNS = ("product_ref", "category", "sku", "price", "hs_code", "origin_country",
                    "weight_g", "length_mm", "width_mm", "height_mm")
INTEGER_COLUMNS = ("moq", "case_pack", "weight_g", "length_mm", "width_mm", "height_mm")
FORMATS = {".csv": "csv", ".json": "json"}
MAX_FILE_BYTES = 20 * 1024 * 1024
BATCH_ROWS = 500  # rows per unit of work
JOB_TOPIC = "catalog.import.requested"
MAX_STORED_ERRORS = 1000
STALE_JOB = timedelta(minutes=5)  # a running job silent this long is taken over

_INTEGER = re.compile(r"^-?[0-9]+$")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_SCHEMA = ProductSchema()
_FIELD_COLUMNS = {"ref": "product_ref", "base_price": "price", "variants": "sku"}


class ImportRefused(InvalidInput):
    """The file as a whole cannot be read; nothing was written."""

    def __init__(self, reason: str, *, line: int | None = None):
        super().__init__(f"line {line}: {reason}" if line else reason, errors={"file": [reason]})
        self.line, self.reason = line, reason

    def as_error(self) -> dict:
        return _error(self.line, None, self.reason)


class ImportJobBusy(RuntimeError):
    """Another relay is running the job now; the event is retried later."""


def _error(line: int | None, column: str | None, reason: str) -> dict:
    return {"line": line, "column": column, "reason": reason}


@dataclass
class _Draft:
    """One product as read from the file, with the lines it came from and what is wrong."""

    ref: str
    line: int  # its first row, or where its JSON object starts
    by_row: bool  # from rows (CSV or JSON rows) rather than a product object
    data: dict
    rows: int = 0
    lines: list[int] = field(default_factory=list)
    variant_lines: list[int] = field(default_factory=list)
    first_values: dict = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)


# Reading --------------------------------------------------------------------------------------

def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRefused("the file is UTF-16; save it as UTF-8 (in Excel: \"CSV UTF-8\")", line=1)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        raise ImportRefused(
            f"the file is not UTF-8: byte 0x{content[exc.start]:02X} cannot be read (is it Latin-1 or Windows-1252?); "
            "save it as UTF-8 (in Excel: \"CSV UTF-8\")", line=line,
        ) from None


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, str], dict[str, str]]]:
    """(line, cells by column, problems) for each non-blank data row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        _check_header(header)
        while True:
            line = reader.line_num + 1
            record = next(reader, None)
            if record is None:
                return
            if not any(cell.strip() for cell in record):
                continue
            unnamed = record[len(header):] + [cell for name, cell in zip(header, record) if not name]
            problems = {None: "a value in a column the header does not name"} if any(c.strip() for c in unnamed) else {}
            yield line, {name: cell for name, cell in zip(header, record) if name}, problems
    except csv.Error as exc:
        raise ImportRefused(f"not readable as CSV: {exc}", line=reader.line_num) from None


def _check_header(header: list[str]) -> None:
    if not any(header):
        raise ImportRefused("the file is empty; line 1 must name the columns", line=1)
    problems = []
    unknown = [name for name in header if name and name not in COLUMNS]
    if unknown:
        problems.append(f"unknown columns {', '.join(unknown)}")
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        problems.append(f"repeated columns {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if not any(name.startswith("title_") for name in header):
        missing.append("a title_<language> column")
    if missing:
        problems.append(f"missing columns {', '.join(missing)}")
    if problems:
        raise ImportRefused("; ".join(problems) + f" (the columns are {','.join(COLUMNS)})", line=1)


def _json_items(text: str) -> Iterator[tuple[int, object]]:
    """(line where it starts, value) for each element of the top-level list."""
    decoder, lines = json.JSONDecoder(), _LineCounter(text)
    position = _WHITESPACE.match(text, 0).end()
    if text[position:position + 1] != "[":
        raise ImportRefused("expected a JSON list of products or of rows, starting with [", line=lines.at(position))
    position = _WHITESPACE.match(text, position + 1).end()
    if text[position:position + 1] == "]":
        if _WHITESPACE.match(text, position + 1).end() != len(text):
            raise ImportRefused("not valid JSON: something follows the list", line=lines.at(position))
        return
    while True:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise ImportRefused(f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
        yield lines.at(position), value
        position = _WHITESPACE.match(text, end).end()
        separator = text[position:position + 1]
        position = _WHITESPACE.match(text, position + 1).end()
        if separator == "]" and position == len(text):
            return
        if separator != ",":
            raise ImportRefused("not valid JSON: expected , or ] after an element, and nothing after the list",
                                line=lines.at(position))


class _LineCounter:
    """Line numbers of increasing offsets, without rescanning the text from its start."""

    def __init__(self, text: str):
        self.text, self.offset, self.line = text, 0, 1

    def at(self, offset: int) -> int:
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _json_records(items: Iterable[tuple[int, object]]) -> Iterator[tuple[int, dict[str, str], dict[str, str]]]:
    """JSON row objects as CSV records: numbers become text, unknown keys are problems."""
    for line, item in items:
        if not isinstance(item, dict):
            yield line, {}, {None: "expected an object with the CSV columns as keys"}
            continue
        cells, problems = {}, {}
        for column, value in item.items():
            if column not in COLUMNS:
                problems[column] = "unknown column"
            elif value is None:
                cells[column] = ""
            elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
                cells[column] = str(value)
            else:
                problems[column] = "expected text or a number"
        yield line, cells, problems


# Cells and rows -------------------------------------------------------------------------------

class _CellError(ValueError):
    pass


def _integer(text: str) -> int:
    if not _INTEGER.match(text):
        raise _CellError(f"{text!r} is not a whole number")
    return int(text)


def _amount(text: str, currency: str) -> int:
    try:
        return Money.parse(text, currency).amount
    except MoneyError as exc:
        raise _CellError(str(exc)) from None


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split("|") if item.strip()]


def _pairs(text: str, value_of: Callable[[str], object], example: str) -> dict:
    pairs = {}
    for item in _items(text):
        name, equals, value = (part.strip() for part in item.partition("="))
        if not equals or not name:
            raise _CellError(f"{item!r} is not name=value (e.g. {example})")
        if name in pairs:
            raise _CellError(f"{name!r} is given twice")
        pairs[name] = value_of(value)
    return pairs


def _tier(item: str, currency: str) -> dict[str, int]:
    quantity, colon, price = (part.strip() for part in item.partition(":"))
    if not colon:
        raise _CellError(f"tier {item!r} is not quantity:price (e.g. 12:11.00)")
    return {"min_quantity": _integer(quantity), "unit_price": _amount(price, currency)}


def _cell(column: str, text: str, currency: str):
    if column in TEXT_COLUMNS:
        return text
    text = text.strip()
    if column in INTEGER_COLUMNS:
        return _integer(text)
    if column == "price":
        return _amount(text, currency)
    if column == "tiers":
        return [_tier(item, currency) for item in _items(text)]
    if column == "options":
        return _pairs(text, str, "size=250 g|roast=dark")
    if column == "stock":
        return _pairs(text, _integer, "KGN=100|MBJ=20")
    if column in ("image_urls", "ships_to_exclusions"):
        return _items(text)
    return text


def _values(cells: dict[str, str], currency: str, problems: dict) -> dict:
    """The row's non-blank cells, parsed; what cannot be parsed goes to `problems`."""
    values = {}
    for column in COLUMNS[1:]:
        text = cells.get(column) or ""
        if text.strip():
            try:
                values[column] = _cell(column, text, currency)
            except _CellError as exc:
                problems[column] = str(exc)
    return values


def _product_data(ref: str, values: dict) -> dict:
    data = {"ref": ref, "variants": [],
            **{name: values[name] for name in PRODUCT_COLUMNS if name in values and name not in TEXT_COLUMNS}}
    for name in ("title", "description"):
        data[name] = {lang: values[f"{name}_{lang}"] for lang in LANGUAGES if f"{name}_{lang}" in values}
    return data


def _variant_data(values: dict) -> dict:
    return {"base_price" if name == "price" else name: values[name] for name in VARIANT_COLUMNS if name in values}


def _drafts_from_rows(records, currency: str, stray: list[dict]) -> list[_Draft]:
    """Group rows into products by product_ref, checking what can be checked row by row."""
    drafts: dict[str, _Draft] = {}
    sku_lines: dict[str, int] = {}
    for line, cells, problems in records:
        ref = (cells.get("product_ref") or "").strip()
        values = _values(cells, currency, problems)
        if not ref:
            stray.append(_error(line, "product_ref", "required: the product this row's variant belongs to"))
            continue
        draft = drafts.get(ref)
        if draft is None:
            draft = drafts[ref] = _Draft(ref=ref, line=line, by_row=True, data=_product_data(ref, values),
                                         first_values={k: v for k, v in values.items() if k in PRODUCT_COLUMNS})
        for name in PRODUCT_COLUMNS:
            if name in values and values[name] != draft.first_values.get(name):
                problems[name] = (f"differs from line {draft.line}, this product's first row" if name in draft.first_values
                                  else f"blank on line {draft.line}, this product's first row, which product columns come from")
        sku = values.get("sku")
        if sku in sku_lines:
            problems["sku"] = f"SKU {sku} is also on line {sku_lines[sku]}"
        elif sku:
            sku_lines[sku] = line
        draft.rows += 1
        draft.lines.append(line)
        draft.errors += [_error(line, column, reason) for column, reason in problems.items()]
        if not problems:
            draft.data["variants"].append(_variant_data(values))
            draft.variant_lines.append(line)
    return list(drafts.values())


def _drafts_from_objects(items, currency: str, stray: list[dict]) -> list[_Draft]:
    drafts, ref_lines, sku_owners = [], {}, {}
    for line, item in items:
        if not isinstance(item, dict):
            stray.append(_error(line, None, "expected a product object"))
            continue
        data = {k: v for k, v in item.items() if k not in ("id", "updated_at")}
        draft = _Draft(ref=str(data.get("ref")), line=line, by_row=False, data=data, rows=1, lines=[line])
        if isinstance(data.get("ref"), str) and data["ref"] in ref_lines:
            draft.errors.append(_error(line, "ref", f"product {data['ref']} is also on line {ref_lines[data['ref']]}"))
        ref_lines.setdefault(draft.ref, line)
        if isinstance(data.get("variants"), list):
            draft.rows = max(1, len(data["variants"]))
            data["variants"] = [_object_variant(draft, n, v, currency, sku_owners) for n, v in enumerate(data["variants"])]
        drafts.append(draft)
    return drafts


def _object_variant(draft: _Draft, n: int, variant, currency: str, sku_owners: dict[str, _Draft]) -> object:
    if not isinstance(variant, dict):
        return variant
    if variant.get("currency", currency) != currency:
        draft.errors.append(_error(draft.line, f"variants.{n}.currency", f"prices must be in {currency}, the merchant's currency"))
    sku = variant.get("sku")
    owner = sku_owners.setdefault(sku, draft) if isinstance(sku, str) else draft
    if owner is not draft:  # within one product, product_problems says so
        draft.errors.append(_error(draft.line, f"variants.{n}.sku", f"SKU {sku} is also in product {owner.ref} (line {owner.line})"))
    return {k: v for k, v in variant.items() if k not in ("id", "currency")}


def _read(content: bytes, file_format: str, currency: str) -> tuple[list[_Draft], list[dict]]:
    text, stray = _decode(content), []
    if file_format == "csv":
        return _drafts_from_rows(_csv_records(text), currency, stray), stray
    items = list(_json_items(text))
    if items and isinstance(items[0][1], dict) and "product_ref" in items[0][1]:
        return _drafts_from_rows(_json_records(items), currency, stray), stray
    return _drafts_from_objects(items, currency, stray), stray


def data_from_rows(rows: list[dict[str, str]], currency: str) -> dict | None:
    """What CSV rows (cells by column) of one product import as, in the API shape; None when
    they would be refused. The exporter checks its output with this."""
    stray: list[dict] = []
    drafts = _drafts_from_rows(((n, row, {}) for n, row in enumerate(rows, start=2)), currency, stray)
    if stray or len(drafts) != 1:
        return None
    _validate(drafts[0])
    return None if drafts[0].errors else drafts[0].data


# Validating -----------------------------------------------------------------------------------

def _validate(draft: _Draft) -> None:
    """The API's rules: its schema, then service.product_problems; problems located by line and column."""
    if draft.by_row and not draft.variant_lines:
        return  # every row failed to parse; there is nothing more to say
    try:
        loaded = _SCHEMA.load(draft.data)
    except ValidationError as exc:
        problems = list(_flatten(exc.messages))
    else:
        draft.data = loaded
        problems = [(tuple(name.split(".")), message)
                    for name, messages in service.product_problems(loaded).items() for message in messages]
    for path, message in problems:
        draft.errors.append(_error(*_locate(draft, path), message))


def _flatten(messages, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, path if key == "_schema" else (*path, str(key)))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield path, str(messages)


def _locate(draft: _Draft, path: tuple[str, ...]) -> tuple[int, str | None]:
    if not draft.by_row:
        return draft.line, ".".join(path) or None
    if len(path) > 1 and path[0] == "variants" and path[1].isdigit() and int(path[1]) < len(draft.variant_lines):
        return draft.variant_lines[int(path[1])], _column(path[2:])
    return draft.line, _column(path)


def _column(path: tuple[str, ...]) -> str | None:
    if not path:
        return None
    if path[0] in ("title", "description"):
        return f"{path[0]}_{path[1] if len(path) > 1 and path[1] in LANGUAGES else LANGUAGES[0]}"
    return _FIELD_COLUMNS.get(path[0], path[0])


# Writing --------------------------------------------------------------------------------------

class _Report:
    def __init__(self, rows: int, errors: list[dict]):
        self.rows, self.errors = rows, list(errors)
        self.counts = {"created": 0, "updated": 0, "unchanged": 0}

    def reject(self, draft: _Draft) -> None:
        """A product not written: its errors, and a note on each of its rows that had none."""
        self.errors += draft.errors
        bad = sorted({e["line"] for e in draft.errors})
        shown = ("line " if len(bad) == 1 else "lines ") + ", ".join(map(str, bad[:5])) + (", …" if len(bad) > 5 else "")
        self.errors += [_error(line, "product_ref", f"not imported: product {draft.ref} has errors on {shown}")
                        for line in draft.lines if line not in bad]

    def count(self, product: Product | None, changed: bool) -> None:
        self.counts["created" if product is None else "updated" if changed else "unchanged"] += 1

    def as_dict(self) -> dict:
        return {**self.counts, "errors": sorted(self.errors, key=lambda e: e["line"] or 0), "rows": self.rows}


def _batches(drafts: list[_Draft]) -> Iterator[list[_Draft]]:
    batch, rows = [], 0
    for draft in drafts:
        batch.append(draft)
        rows += draft.rows
        if rows >= BATCH_ROWS:
            yield batch
            batch, rows = [], 0
    if batch:
        yield batch


def _write_batch(router: Router, principal: Principal, drafts: list[_Draft], report: _Report) -> None:
    """One unit of work for the batch; the merchant's products and SKUs for it loaded in bulk."""
    ready = [d for d in drafts if not d.errors]
    if ready:
        with router.unit_of_work(principal.region) as uow:
            session = uow.session
            merchant = session.get(Merchant, principal.merchant_id)
            existing = {p.ref: p for p in session.scalars(
                select(Product).where(Product.merchant_id == merchant.id, Product.ref.in_([d.ref for d in ready])))}
            owners = _sku_owners(session, merchant.id, ready, existing)
            for draft in ready:
                _refuse_foreign_skus(draft, owners)
            _write_products(session, merchant, [d for d in ready if not d.errors], existing, report)
            uow.commit()
    for draft in drafts:
        if draft.errors:
            report.reject(draft)


def _sku_owners(session: Session, merchant_id: str, drafts: list[_Draft], existing: dict[str, Product]) -> dict[str, str]:
    """Product ref by SKU, for the SKUs not already the drafts' own (none, on a re-import)."""
    own = {v.sku for d in drafts if d.ref in existing for v in existing[d.ref].variants}
    skus = sorted({v["sku"] for d in drafts for v in d.data["variants"]} - own)
    if not skus:
        return {}
    # Inline values: with 500 bound parameters PostgreSQL's generic plan compares each SKU of
    # the merchant against the list one by one; with constants it hashes the list.
    listed = bindparam("skus", skus, expanding=True, literal_execute=True)
    return dict(session.execute(select(Variant.sku, Product.ref).join(Variant.product).where(
        Variant.merchant_id == merchant_id, Variant.sku.in_(listed))).all())


def _refuse_foreign_skus(draft: _Draft, owners: dict[str, str]) -> None:
    for n, variant in enumerate(draft.data["variants"]):
        owner = owners.get(variant["sku"])
        if owner is not None and owner != draft.ref:
            draft.errors.append(_error(*_locate(draft, ("variants", str(n), "sku")),
                                       f"SKU {variant['sku']} belongs to your product {owner}"))


def _write_products(session: Session, merchant: Merchant, drafts: list[_Draft], existing: dict[str, Product],
                    report: _Report) -> None:
    """The batch in one SAVEPOINT and one flush (the fast path); when the database refuses it,
    each product again in a SAVEPOINT of its own, so only the product at fault is lost."""
    try:
        with session.begin_nested():
            changes = [service.write_product(session, merchant, d.data, existing.get(d.ref))[1] for d in drafts]
            session.flush()
    except (IntegrityError, DataError):
        for draft in drafts:
            _write_product(session, merchant, draft, existing.get(draft.ref), report)
        return
    for draft, changed in zip(drafts, changes):
        report.count(existing.get(draft.ref), changed)


def _write_product(session: Session, merchant: Merchant, draft: _Draft, product: Product | None, report: _Report) -> None:
    try:
        with session.begin_nested():
            _, changed = service.write_product(session, merchant, draft.data, product)
            session.flush()
    except (IntegrityError, DataError) as exc:
        log.warning("import of product %s refused by the database: %s", draft.ref, exc.orig, extra={"merchant_id": merchant.id})
        draft.errors.append(_error(draft.line, None, "the database refused this product; none of it was written"))
        return
    report.count(product, changed)


# The use cases --------------------------------------------------------------------------------

def import_rows(router: Router, principal: Principal, content: bytes, filename: str,
                progress: Callable[[int, int], None] | None = None) -> dict:
    """Import a CSV or JSON catalog file for the principal's merchant; answers the report.

    `progress(done, total)` is called with data rows after reading and after each batch.
    """
    file_format = _format_of(filename)
    currency = _currency_of(router, principal)
    drafts, stray = _read(content, file_format, currency)
    report = _Report(sum(d.rows for d in drafts) + len(stray), stray)
    done = len(stray)
    if progress:
        progress(done, report.rows)
    for batch in _batches(drafts):
        for draft in batch:
            _validate(draft)
        _write_batch(router, principal, batch, report)
        done += sum(d.rows for d in batch)
        if progress:
            progress(done, report.rows)
    return report.as_dict()


def _format_of(filename: str) -> str:
    suffix = "." + filename.rpartition(".")[2].lower() if "." in filename else ""
    if suffix not in FORMATS:
        raise ImportRefused(f"{filename!r}: the file name must end in .csv or .json")
    return FORMATS[suffix]


def _currency_of(router: Router, principal: Principal) -> str:
    with router.unit_of_work(principal.region, read_only=True) as uow:
        merchant = uow.session.get(Merchant, principal.merchant_id)
    if merchant is None:
        raise NotFound(f"No merchant {principal.merchant_id}.")
    if not merchant.default_currency:
        raise ImportRefused("set the merchant's default currency first: prices in the file are in it")
    return merchant.default_currency


def submit_job(*, router: Router, principal: Principal, filename: str, content: bytes) -> ImportJob:
    """Queue an uploaded file; the outbox relay imports it (see `register_handlers`)."""
    name = re.split(r"[\\/]", filename)[-1][-200:]
    problems = []
    if not name.lower().endswith(tuple(FORMATS)):
        problems.append("the file name must end in .csv or .json")
    if len(content) > MAX_FILE_BYTES:
        problems.append(f"at most {MAX_FILE_BYTES // 2**20} MB (this one is {len(content) / 2**20:.1f} MB)")
    if not content:
        problems.append("the file is empty")
    if problems:
        raise InvalidInput("The file cannot be imported.", errors={"file": problems})
    with router.unit_of_work(principal.region) as uow:
        job = ImportJob(id=new_id("imp"), region=principal.region, merchant_id=principal.merchant_id, filename=name,
                        format=_format_of(name), content=content, status="queued", total_rows=0, processed_rows=0, report={})
        uow.session.add(job)
        outbox.publish(uow.session, JOB_TOPIC, {"job_id": job.id, "merchant_id": principal.merchant_id})
        uow.commit()
    return job


def get_job(*, router: Router, principal: Principal, job_id: str) -> ImportJob:
    """One of the merchant's import jobs, with its progress and report (not its file)."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        job = uow.session.get(ImportJob, job_id, options=[defer(ImportJob.content, raiseload=True)]) if is_id(job_id, "imp") else None
    if job is None or job.merchant_id != principal.merchant_id:
        raise NotFound(f"No import job {job_id}.")
    return job


def register_handlers(registry: HandlerRegistry, router: Router | None = None) -> None:
    """Outbox handlers of the import (dashboard uploads run in the relay).

    Without `router` the handler uses the current Flask app's, which only works where an app
    context is pushed (`flask cpu relay`), not in the embedded relay thread: pass the router.
    """

    @registry.on(JOB_TOPIC)
    def run_requested_import(event: Event) -> None:
        run_job(router=router or _app_router(), region=event.region, job_id=event.payload["job_id"])


def _app_router() -> Router:
    if not has_app_context():
        raise RuntimeError("the import handler has no router: call register_handlers(registry, router)")
    return platform.router()


def run_job(*, router: Router, region: str, job_id: str) -> None:
    """Run a queued import job; a finished one is left alone, so a redelivered event is harmless."""
    claimed = _claim(router, region, job_id)
    if claimed is None:
        return
    principal, filename, content = claimed
    try:
        report = import_rows(router, principal, content, filename,
                             progress=lambda done, total: _record_progress(router, region, job_id, done, total))
    except (ImportRefused, NotFound) as exc:
        error = exc.as_error() if isinstance(exc, ImportRefused) else _error(None, None, exc.detail)
        _finish(router, region, job_id, "failed", {"created": 0, "updated": 0, "unchanged": 0, "errors": [error], "rows": 0})
        return
    except Exception:
        _release(router, region, job_id)  # so the relay's retry need not wait for the claim to go stale
        raise
    _finish(router, region, job_id, "done", report)


def _claim(router: Router, region: str, job_id: str) -> tuple[Principal, str, bytes] | None:
    with router.unit_of_work(region) as uow:
        job = uow.session.get(ImportJob, job_id, with_for_update=True)
        if job is None or job.status in ("done", "failed"):
            return None
        heartbeat = (job.report or {}).get("heartbeat")
        if job.status == "running" and heartbeat and utcnow() - datetime.fromisoformat(heartbeat) < STALE_JOB:
            raise ImportJobBusy(f"import job {job_id} is being run by another relay")
        job.status, job.report = "running", {"heartbeat": utcnow().isoformat()}
        claimed = Principal(merchant_id=job.merchant_id, region=region), job.filename, job.content
        uow.commit()
    return claimed


def _release(router: Router, region: str, job_id: str) -> None:
    try:
        with router.unit_of_work(region) as uow:
            uow.session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "running")
                                .values(status="queued", report={}))
            uow.commit()
    except Exception:  # the database may be what failed; the claim then goes stale instead
        log.warning("could not release import job %s", job_id, exc_info=True)


def _record_progress(router: Router, region: str, job_id: str, done: int, total: int) -> None:
    with router.unit_of_work(region) as uow:
        uow.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            processed_rows=done, total_rows=total, report={"heartbeat": utcnow().isoformat()}))
        uow.commit()


def _finish(router: Router, region: str, job_id: str, status: str, report: dict) -> None:
    errors = report["errors"]
    if len(errors) > MAX_STORED_ERRORS:
        report = {**report, "errors": errors[:MAX_STORED_ERRORS], "errors_omitted": len(errors) - MAX_STORED_ERRORS}
    with router.unit_of_work(region) as uow:
        uow.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status=status, report=report, processed_rows=report["rows"], total_rows=report["rows"], finished_at=utcnow()))
        uow.commit()
