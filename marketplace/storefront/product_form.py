"""The dashboard's product form: flat HTML fields to and from the catalog's product data.

A product is a few fields plus a block of variant rows (`v0_sku`, `v0_price`, ...), each with
up to three tier rows (`v0_t0_from`, `v0_t0_price`); rows left empty are ignored. Checking
happens in three steps, each reporting against the input a person typed into:

1. this module turns text into values (prices with Money.parse in the variant's currency,
   whole numbers, `size=250 g | roast=dark`, `KGN=100 | MBJ=20`);
2. the merchant API's ProductSchema checks shapes (SKU characters, URLs, country codes), so a
   product is held to the same rules in the dashboard as through the API;
3. the catalog service's `product_problems` checks the business rules, here already, so that
   one submit shows every problem instead of one round per step; the service checks them
   again when the product is saved.

Text breaking the text rule (form_text) is refused on its input whatever the steps say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from marshmallow import ValidationError

from marketplace.catalog import service as catalog
from marketplace.catalog.models import Product
from marketplace.catalog.schemas import ProductSchema
from marketplace.money import Money, MoneyError
from marketplace.storefront import form_text, product_snapshot

LANGUAGES = ("en", "es", "fr", "nl")
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "nl": "Dutch"}
VARIANT_FIELDS = ("sku", "options", "price", "moq", "case_pack", "hs_code", "origin_country",
                  "weight_g", "length_mm", "width_mm", "height_mm", "stock")
TIER_FIELDS = ("from", "price")
MEASURES = ("weight_g", "length_mm", "width_mm", "height_mm")
TEXTAREAS = (*(f"description_{lang}" for lang in LANGUAGES), "image_urls")
# What step 3 is given for a value that did not parse: one that passes every rule, so only
# the problems of the values the merchant did write are found (see _check_rules).
STAND_INS = {"base_price": 0, "moq": 1, "case_pack": 1, "stock": {}, **{m: 1 for m in MEASURES}}
MIN_VARIANT_ROWS = 3
MIN_TIER_ROWS = 3
MAX_VARIANT_ROWS = 500
LIST_SEPARATORS = re.compile(r"\s*[|;\n]\s*")
VARIANT_INPUT = re.compile(r"^v(\d+)_(?:t(\d+)_)?")

LABELS = {
    "sku": "SKU", "options": "Options", "price": "Price", "moq": "Minimum order", "case_pack": "Case pack",
    "hs_code": "HS code", "origin_country": "Country of origin", "weight_g": "Weight (g)", "length_mm": "Length (mm)",
    "width_mm": "Width (mm)", "height_mm": "Height (mm)", "stock": "Stock", "tiers": "Volume prices",
}


@dataclass
class Parsed:
    """What the form held: the product data, the problems by input name, and which form row
    each of data["variants"] came from (so a service error on variant 1 lands on its row)."""

    data: dict
    errors: dict[str, list[str]] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def merge(self, problems: Mapping[str, list[str]]) -> None:
        """Problems keyed by data path (`variants.0.hs_code`); inputs already in error keep theirs."""
        for path, messages in problems.items():
            name = input_name(path, self.rows)
            if name not in self.errors:
                self.errors[name] = list(messages)


def parse(form: Mapping[str, str], *, currency_of: Callable[[str], str]) -> Parsed:
    """Steps 1 and 2: the form's text as product data, with every problem found on the way.

    `currency_of(sku)` names the currency a row's prices are in: an existing variant keeps its
    own; a new one takes the merchant's default currency.
    """
    value = lambda name: (form.get(name) or "").strip()  # noqa: E731
    parsed = Parsed(data={
        "ref": value("ref"), "category": value("category"), "visibility": value("visibility") or "public",
        "title": {lang: value(f"title_{lang}") for lang in LANGUAGES if value(f"title_{lang}")},
        "description": {lang: _paragraphs(form.get(f"description_{lang}")) for lang in LANGUAGES if value(f"description_{lang}")},
        "image_urls": [url for url in (value("image_urls")).split() if url],
        "ships_to_exclusions": [c.upper() for c in re.split(r"[\s,;|]+", value("ships_to_exclusions")) if c],
        "variants": [],
    })
    if not parsed.data["ref"]:
        parsed.add("ref", "Fill this in.")
    if not parsed.data["title"]:
        parsed.add("title", "Give a title in at least one language.")
    for row in range(row_count(form)):
        if any(value(name) for name in row_inputs(form, row)):
            parsed.rows.append(row)
            parsed.data["variants"].append(_variant(parsed, value, row, currency_of))
    if not parsed.rows:
        parsed.add("variants", "Fill in at least one variant row.")
    _check_shapes(parsed)
    _check_rules(parsed)
    parsed.errors.update(form_text.form_problems(form, multiline=TEXTAREAS))
    return parsed


def revision_of(form: Mapping[str, str]) -> int | None:
    """The product revision the form was loaded at; None for a form without one (a new product)."""
    text = (form.get("revision") or "").strip()
    return int(text) if text.isdigit() else None


def _paragraphs(text: str | None) -> str:
    return (text or "").replace("\r\n", "\n").strip()


def _variant(parsed: Parsed, value, row: int, currency_of) -> dict:
    name = lambda field: f"v{row}_{field}"  # noqa: E731
    sku = value(name("sku"))
    if not sku:
        parsed.add(name("sku"), "Fill this in: every variant needs a SKU.")
    currency = currency_of(sku)
    variant = {
        "sku": sku,
        "options": _pairs(parsed, name("options"), value(name("options")), str),
        "base_price": _money(parsed, name("price"), value(name("price")), currency, required=True),
        "tiers": _tiers(parsed, value, row, currency),
        "moq": _whole(parsed, name("moq"), value(name("moq")), default=1),
        "case_pack": _whole(parsed, name("case_pack"), value(name("case_pack")), default=1),
        "hs_code": re.sub(r"[\s.]", "", value(name("hs_code"))),
        "origin_country": value(name("origin_country")).upper(),
        "stock": _pairs(parsed, name("stock"), value(name("stock")), int),
    }
    for measure in MEASURES:
        variant[measure] = _whole(parsed, name(measure), value(name(measure)))
    for required in ("hs_code", "origin_country"):
        if not variant[required]:
            parsed.add(name(required), "Fill this in.")
    return variant


def _tiers(parsed: Parsed, value, row: int, currency: str) -> list[dict]:
    tiers = []
    for n in range(tier_count_of_row(value, row)):
        start_name, price_name = f"v{row}_t{n}_from", f"v{row}_t{n}_price"
        start, price = value(start_name), value(price_name)
        if not start and not price:
            continue
        quantity = _whole(parsed, start_name, start)
        unit_price = _money(parsed, price_name, price, currency, required=True)
        if quantity is not None and unit_price is not None:
            tiers.append({"min_quantity": quantity, "unit_price": unit_price})
    return tiers


def tier_count_of_row(value, row: int) -> int:
    n = MIN_TIER_ROWS
    while value(f"v{row}_t{n}_from") or value(f"v{row}_t{n}_price"):
        n += 1
    return n


def _money(parsed: Parsed, name: str, text: str, currency: str, *, required: bool) -> int | None:
    if not text:
        if required:
            parsed.add(name, f"Fill this in: an amount in {currency}, like 12.50.")
        return None
    try:
        return Money.parse(text, currency).amount
    except MoneyError as exc:
        parsed.add(name, f"Write an amount in {currency} like 12.50 ({exc}).")
        return None


def _whole(parsed: Parsed, name: str, text: str, *, default: int | None = None) -> int | None:
    if not text:
        if default is None:
            parsed.add(name, "Fill this in: a whole number.")
        return default
    try:
        return int(text)
    except ValueError:
        parsed.add(name, f"A whole number, not {text!r}.")
        return None


def _pairs(parsed: Parsed, name: str, text: str, kind: type) -> dict | None:
    """`size=250 g | roast=dark` or `KGN=100 | MBJ=20` as a dict."""
    pairs: dict = {}
    for part in filter(None, LIST_SEPARATORS.split(text)):
        key, equals, raw = (s.strip() for s in part.partition("="))
        if not key or not equals or not raw:
            parsed.add(name, f"Write name=value pairs separated by |, not {part!r}.")
            return None
        if key in pairs:
            parsed.add(name, f"{key} is given twice.")
            return None
        try:
            pairs[key] = kind(raw)
        except ValueError:
            parsed.add(name, f"{key}: a whole number, not {raw!r}.")
            return None
    return pairs


def _check_shapes(parsed: Parsed) -> None:
    """Step 2: the merchant API's schema, so both doors apply the same shape rules."""
    try:
        ProductSchema().load(parsed.data)
    except ValidationError as exc:
        parsed.merge(flatten(exc.normalized_messages()))


def _check_rules(parsed: Parsed) -> None:
    """Step 3 before saving, over every row: a value that did not parse (None, its input
    already in error) is replaced by a stand-in that breaks no rule, and a row whose base
    price is unknown is checked without its tiers (they are judged against it). So a stand-in
    never produces a message, and merge keeps the first message of an input in error."""
    variants = [{**variant, **{k: STAND_INS[k] for k, v in variant.items() if v is None and k in STAND_INS},
                 **({"tiers": []} if variant["base_price"] is None else {})} for variant in parsed.data["variants"]]
    parsed.merge(catalog.product_problems({**parsed.data, "variants": variants}))


def flatten(messages: Mapping, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    for key, inner in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(inner, Mapping):
            flat.update(flatten(inner, path))
        else:
            flat[path] = [str(m) for m in (inner if isinstance(inner, list) else [inner])]
    return flat


def input_name(path: str, rows: list[int]) -> str:
    """The form input (or fieldset) that shows a problem found at a data path."""
    parts = path.split(".")
    if parts[0] == "variants" and len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
        inner = "price" if parts[2] == "base_price" else parts[2]
        return f"v{rows[int(parts[1])]}_{inner}"
    if parts[0] in ("title", "description") and len(parts) == 2 and parts[1] in LANGUAGES:
        return f"{parts[0]}_{parts[1]}"
    return parts[0]


def row_inputs(form: Mapping[str, str], row: int) -> list[str]:
    prefix = f"v{row}_"
    return [name for name in form if name.startswith(prefix)]


def row_count(form: Mapping[str, str]) -> int:
    """How many variant rows the form had (at least the minimum)."""
    rows = [int(m.group(1)) for name in form if (m := VARIANT_INPUT.match(name))]
    return min(MAX_VARIANT_ROWS, max([MIN_VARIANT_ROWS - 1, *rows]) + 1)


def values_of(product: Product) -> dict[str, str]:
    """An existing product as the form's fields."""
    values = {
        "ref": product.ref, "category": product.category, "visibility": product.visibility,
        "image_urls": "\n".join(product.image_urls), "ships_to_exclusions": ", ".join(product.ships_to_exclusions),
    }
    for lang in LANGUAGES:
        values[f"title_{lang}"] = product.title.get(lang, "")
        values[f"description_{lang}"] = product.description.get(lang, "")
    for row, variant in enumerate(product.variants):
        v = f"v{row}_"
        values.update({
            v + "sku": variant.sku, v + "options": " | ".join(f"{k}={x}" for k, x in variant.options.items()),
            v + "price": Money(variant.base_price, variant.currency).plain(), v + "moq": str(variant.moq),
            v + "case_pack": str(variant.case_pack), v + "hs_code": variant.hs_code, v + "origin_country": variant.origin_country,
            v + "stock": " | ".join(f"{k}={n}" for k, n in variant.stock.items()),
            **{v + m: str(getattr(variant, m)) for m in MEASURES},
        })
        for n, tier in enumerate(variant.tiers):
            values[f"{v}t{n}_from"] = str(tier["min_quantity"])
            values[f"{v}t{n}_price"] = Money(tier["unit_price"], variant.currency).plain()
    # Room for one more variant than the product has, and never fewer than the minimum.
    values["rows"] = str(max(MIN_VARIANT_ROWS, len(product.variants) + 1))
    values["revision"] = str(product.revision)
    values["loaded"] = product_snapshot.snapshot(values)
    return values


@dataclass(frozen=True)
class Row:
    """One variant row of the rendered form."""

    index: int
    tiers: range


def rows_of(values: Mapping[str, str]) -> list[Row]:
    count = max(row_count(values), int(values.get("rows") or 0) if str(values.get("rows", "")).isdigit() else 0)
    value = lambda name: (values.get(name) or "").strip()  # noqa: E731
    return [Row(r, range(tier_count_of_row(value, r))) for r in range(min(count, MAX_VARIANT_ROWS))]


def label_of(name: str) -> str:
    """A readable name for an input, for the list of problems at the top of the form."""
    match = re.match(r"^v(\d+)_(?:t(\d+)_)?(\w+)$", name)
    if match:
        row, tier, inner = match.groups()
        if tier is not None:
            return f"Variant {int(row) + 1}, volume price {int(tier) + 1}: {'from quantity' if inner == 'from' else 'unit price'}"
        return f"Variant {int(row) + 1}: {LABELS.get(inner, inner)}"
    head, _, lang = name.partition("_")
    if head in ("title", "description") and lang in LANGUAGES:
        return f"{head.capitalize()} ({LANGUAGE_NAMES[lang]})"
    return {"ref": "Your reference", "category": "Category", "visibility": "Who can see it", "image_urls": "Image addresses",
            "ships_to_exclusions": "Does not ship to", "variants": "Variants", "title": "Title",
            }.get(name, name.replace("_", " ").capitalize())
