"""Writing the drafts: batches of products upserted in one unit of work each, and the report.

A batch is written in one SAVEPOINT; when the database refuses it, each product is written
again in a SAVEPOINT of its own, so a database error loses that product only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from sqlalchemy import bindparam, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from marketplace.catalog import service
from marketplace.catalog.importer.errors import error_entry
from marketplace.catalog.importer.rows import Draft, locate
from marketplace.catalog.models import Product, Variant
from marketplace.inventory.errors import BelowReserved
from marketplace.merchants.auth import Principal
from marketplace.merchants.models import Merchant
from marketplace.regions.router import Router

log = logging.getLogger(__name__)

BATCH_ROWS = 500  # rows per unit of work


class Report:
    """What an import did: products created, updated and unchanged, rows, and errors."""

    def __init__(self, rows: int, errors: list[dict]):
        self.rows, self.errors = rows, list(errors)
        self.counts = {"created": 0, "updated": 0, "unchanged": 0}

    def reject(self, draft: Draft) -> None:
        """A product not written: its errors, and a note on each of its rows that had none."""
        self.errors += draft.errors
        bad = sorted({e["line"] for e in draft.errors})
        shown = ("line " if len(bad) == 1 else "lines ") + ", ".join(map(str, bad[:5])) + (", …" if len(bad) > 5 else "")
        self.errors += [error_entry(line, "product_ref", f"not imported: product {draft.ref} has errors on {shown}")
                        for line in draft.lines if line not in bad]

    def count(self, product: Product | None, changed: bool) -> None:
        self.counts["created" if product is None else "updated" if changed else "unchanged"] += 1

    def as_dict(self) -> dict:
        return {**self.counts, "errors": sorted(self.errors, key=lambda e: e["line"] or 0), "rows": self.rows,
                "rows_with_errors": rows_with_errors(self.errors)}


def rows_with_errors(errors: list[dict]) -> int:
    """Rows the merchant must correct: a row with three bad cells is one row to fix, not three."""
    return len({e["line"] for e in errors if e.get("line") is not None})


def batches(drafts: list[Draft]) -> Iterator[list[Draft]]:
    """The drafts in runs of about BATCH_ROWS rows, a product never split between two."""
    batch, rows = [], 0
    for draft in drafts:
        batch.append(draft)
        rows += draft.rows
        if rows >= BATCH_ROWS:
            yield batch
            batch, rows = [], 0
    if batch:
        yield batch


def write_batch(router: Router, principal: Principal, drafts: list[Draft], report: Report) -> None:
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


def _sku_owners(session: Session, merchant_id: str, drafts: list[Draft], existing: dict[str, Product]) -> dict[str, str]:
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


def _refuse_foreign_skus(draft: Draft, owners: dict[str, str]) -> None:
    for n, variant in enumerate(draft.data["variants"]):
        owner = owners.get(variant["sku"])
        if owner is not None and owner != draft.ref:
            draft.errors.append(error_entry(*locate(draft, ("variants", str(n), "sku")),
                                            f"SKU {variant['sku']} belongs to your product {owner}"))


def _write_products(session: Session, merchant: Merchant, drafts: list[Draft], existing: dict[str, Product],
                    report: Report) -> None:
    """The batch in one SAVEPOINT and one flush (the fast path); when the database refuses it,
    each product again in a SAVEPOINT of its own, so only the product at fault is lost."""
    try:
        with session.begin_nested():
            changes = [service.write_product(session, merchant, d.data, existing.get(d.ref))[1] for d in drafts]
            session.flush()
    except (IntegrityError, DataError, BelowReserved):
        for draft in drafts:
            _write_product(session, merchant, draft, existing.get(draft.ref), report)
        return
    for draft, changed in zip(drafts, changes):
        report.count(existing.get(draft.ref), changed)


def _write_product(session: Session, merchant: Merchant, draft: Draft, product: Product | None, report: Report) -> None:
    try:
        with session.begin_nested():
            _, changed = service.write_product(session, merchant, draft.data, product)
            session.flush()
    except (IntegrityError, DataError) as exc:
        log.warning("import of product %s refused by the database: %s", draft.ref, exc.orig, extra={"merchant_id": merchant.id})
        draft.errors.append(error_entry(draft.line, None, "the database refused this product; none of it was written"))
        return
    except BelowReserved as exc:  # a count below what checkouts hold: that product alone is not written
        draft.errors.append(error_entry(draft.line, "stock", f"{exc.detail} None of this product was written."))
        return
    report.count(product, changed)
