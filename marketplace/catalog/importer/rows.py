"""From records to product data: cells parsed, rows grouped into products, the API's rules applied.

Each product read from the file is a `Draft`: the data `service.write_product` takes, the
lines it came from, and what is wrong with it, located by line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from marshmallow import ValidationError

from marketplace.catalog import service
from marketplace.catalog.importer.columns import (
    COLUMNS, INTEGER_COLUMNS, LANGUAGES, PRODUCT_COLUMNS, TEXT_COLUMNS, VARIANT_COLUMNS,
)
from marketplace.catalog.importer.errors import error_entry
from marketplace.catalog.importer.formats import Record
from marketplace.catalog.schemas import ProductSchema
from marketplace.jsonbody import problems_in
from marketplace.money import Money, MoneyError
from marketplace.text import text_problem

_INTEGER = re.compile(r"^-?[0-9]+$")
_SCHEMA = ProductSchema()
_FIELD_COLUMNS = {"ref": "product_ref", "base_price": "price", "variants": "sku"}
MULTILINE_COLUMNS = tuple(f"description_{language}" for language in LANGUAGES)


@dataclass
class Draft:
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


# Cells ----------------------------------------------------------------------------------------

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
    """The row's non-blank cells, parsed; what cannot be parsed, or is not acceptable text
    (marketplace.text: newlines and tabs only in descriptions), goes to `problems`."""
    values = {}
    for column in COLUMNS[1:]:
        text = cells.get(column) or ""
        if (wrong := text_problem(text, multiline=column in MULTILINE_COLUMNS)) is not None:
            problems[column] = wrong
        elif text.strip():
            try:
                values[column] = _cell(column, text, currency)
            except _CellError as exc:
                problems[column] = str(exc)
    return values


# Products -------------------------------------------------------------------------------------

def _product_data(ref: str, values: dict) -> dict:
    data = {"ref": ref, "variants": [],
            **{name: values[name] for name in PRODUCT_COLUMNS if name in values and name not in TEXT_COLUMNS}}
    for name in ("title", "description"):
        data[name] = {lang: values[f"{name}_{lang}"] for lang in LANGUAGES if f"{name}_{lang}" in values}
    return data


def _variant_data(values: dict) -> dict:
    return {"base_price" if name == "price" else name: values[name] for name in VARIANT_COLUMNS if name in values}


def drafts_from_rows(records: Iterable[Record], currency: str, stray: list[dict]) -> list[Draft]:
    """Group rows into products by product_ref, checking what can be checked row by row."""
    drafts: dict[str, Draft] = {}
    sku_lines: dict[str, int] = {}
    for line, cells, problems in records:
        ref = (cells.get("product_ref") or "").strip()
        values = _values(cells, currency, problems)
        ref_problem = text_problem(ref, multiline=False) if ref else "required: the product this row's variant belongs to"
        if ref_problem is not None:
            stray.append(error_entry(line, "product_ref", ref_problem))
            continue
        draft = drafts.get(ref)
        if draft is None:
            draft = drafts[ref] = Draft(ref=ref, line=line, by_row=True, data=_product_data(ref, values),
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
        draft.errors += [error_entry(line, column, reason) for column, reason in problems.items()]
        if not problems:
            draft.data["variants"].append(_variant_data(values))
            draft.variant_lines.append(line)
    return list(drafts.values())


def drafts_from_objects(items: Iterable[tuple[int, object]], currency: str, stray: list[dict]) -> list[Draft]:
    """JSON product objects as drafts, their variants' ids and currency dropped once checked."""
    drafts, ref_lines, sku_owners = [], {}, {}
    for line, item in items:
        if not isinstance(item, dict):
            stray.append(error_entry(line, None, "expected a product object"))
            continue
        data = {k: v for k, v in item.items() if k not in ("id", "updated_at", "revision")}
        draft = Draft(ref=str(data.get("ref")), line=line, by_row=False, data=data, rows=1, lines=[line])
        # The JSON API's own gate: text rule, nesting depth and number size, by path in the object.
        draft.errors += [error_entry(line, path, message)
                         for path, messages in problems_in(data).items() for message in messages]
        if isinstance(data.get("ref"), str) and data["ref"] in ref_lines:
            draft.errors.append(error_entry(line, "ref", f"product {data['ref']} is also on line {ref_lines[data['ref']]}"))
        ref_lines.setdefault(draft.ref, line)
        if isinstance(data.get("variants"), list):
            draft.rows = max(1, len(data["variants"]))
            data["variants"] = [_object_variant(draft, n, v, currency, sku_owners) for n, v in enumerate(data["variants"])]
        drafts.append(draft)
    return drafts


def _object_variant(draft: Draft, n: int, variant, currency: str, sku_owners: dict[str, Draft]) -> object:
    if not isinstance(variant, dict):
        return variant
    if variant.get("currency", currency) != currency:
        draft.errors.append(error_entry(draft.line, f"variants.{n}.currency", f"prices must be in {currency}, the merchant's currency"))
    sku = variant.get("sku")
    owner = sku_owners.setdefault(sku, draft) if isinstance(sku, str) else draft
    if owner is not draft:  # within one product, product_problems says so
        draft.errors.append(error_entry(draft.line, f"variants.{n}.sku", f"SKU {sku} is also in product {owner.ref} (line {owner.line})"))
    return {k: v for k, v in variant.items() if k not in ("id", "currency")}


def data_from_rows(rows: list[dict[str, str]], currency: str) -> dict | None:
    """What CSV rows (cells by column) of one product import as, in the API shape; None when
    they would be refused. The exporter checks its output with this."""
    stray: list[dict] = []
    drafts = drafts_from_rows(((n, row, {}) for n, row in enumerate(rows, start=2)), currency, stray)
    if stray or len(drafts) != 1:
        return None
    validate(drafts[0])
    return None if drafts[0].errors else drafts[0].data


# Validating -----------------------------------------------------------------------------------

def validate(draft: Draft) -> None:
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
        draft.errors.append(error_entry(*locate(draft, path), message))


def _flatten(messages, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, path if key == "_schema" else (*path, str(key)))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield path, str(messages)


def locate(draft: Draft, path: tuple[str, ...]) -> tuple[int, str | None]:
    """(line, column) in the file of a field of the draft's data, named by its path."""
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
