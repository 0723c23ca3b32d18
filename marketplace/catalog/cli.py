"""`cpu catalog ...`: bulk import and export of a merchant's catalog; product pointers for the edge.

The commands act as the merchant's owner, on the merchant's home shard.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select
from tqdm import tqdm

from marketplace.catalog import exporter, importer, locator
from marketplace.errors import DomainError
from marketplace.merchants.auth import Principal
from marketplace.merchants.models import Merchant, StaffUser
from marketplace.platform import platform
from marketplace.regions import schema
from marketplace.regions.ids import is_id
from marketplace.regions.router import Router

catalog = AppGroup("catalog", help="Merchant catalogs: bulk import and export.")
SHOWN_ERRORS = 20
MERCHANT_OPTION = click.option("--merchant", "merchant_id", required=True, metavar="ID", help="The merchant (mer_…).")


@catalog.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@MERCHANT_OPTION
def import_catalog(file: Path, merchant_id: str) -> None:
    """Import products and variants from a CSV or JSON file; exit 1 when any row failed."""
    router = _ready_router()
    principal = owner_of(router, merchant_id)
    with tqdm(total=0, unit="row", desc=file.name, file=sys.stderr, leave=True) as bar:
        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = importer.import_rows(router, principal, file.read_bytes(), file.name, progress=advance)
        except DomainError as exc:  # batches before a failure are committed: running it again is safe
            raise click.ClickException(exc.detail) from exc
    errors = report["errors"]
    click.echo(f"{report['rows']} rows; products: {report['created']} created, {report['updated']} updated, "
               f"{report['unchanged']} unchanged; {len(errors)} errors")
    for error in errors[:SHOWN_ERRORS]:
        click.echo(f"  line {error['line']}" + (f", {error['column']}" if error["column"] else "") + f": {error['reason']}")
    if len(errors) > SHOWN_ERRORS:
        click.echo(f"  … and {len(errors) - SHOWN_ERRORS} more")
    if errors:
        raise click.exceptions.Exit(1)


@catalog.command("export")
@MERCHANT_OPTION
@click.option("--format", "file_format", type=click.Choice(["csv", "json"]), default=None,
              help="Default: from the output file's suffix, else csv.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The file to write; standard output when not given.")
def export_catalog(merchant_id: str, file_format: str | None, output: Path | None) -> None:
    """Write a merchant's catalog as CSV or JSON that `import` takes back unchanged."""
    router = _ready_router()
    principal = owner_of(router, merchant_id)
    if file_format is None:
        file_format = "json" if output is not None and output.suffix.lower() == ".json" else "csv"
    export = exporter.export_json if file_format == "json" else exporter.export_csv
    try:
        content = export(router, principal)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    if output is None:
        click.echo(content, nl=False)
    else:
        output.write_bytes(content)
        click.echo(f"wrote {output} ({len(content)} bytes)", err=True)


@catalog.command("locate")
def locate_products() -> None:
    """Write the directory's pointer of every product in the regions served (see catalog.locator)."""
    router = _ready_router()
    click.echo(f"{locator.point_all(router)} product pointers written")


def owner_of(router: Router, merchant_id: str) -> Principal:
    """A Principal acting as the merchant's owner, found through the directory."""
    region = router.region_of(merchant_id) if is_id(merchant_id, "mer") else None
    owner_id = None
    if region is not None:
        with router.unit_of_work(region, read_only=True) as uow:
            if uow.session.get(Merchant, merchant_id) is None:
                region = None
            owner_id = uow.session.scalar(select(StaffUser.id).where(
                StaffUser.merchant_id == merchant_id, StaffUser.role == "owner").order_by(StaffUser.created_at).limit(1))
    if region is None:
        raise click.BadParameter(f"there is no merchant {merchant_id}", param_hint="--merchant")
    return Principal(merchant_id=merchant_id, region=region, staff_id=owner_id, role="owner")


def _ready_router() -> Router:
    router = platform().router
    schema.require_head(router)
    return router
