"""`cpu search ...`: the shopping search index from a shell."""

import sys
from datetime import timedelta

import click
from flask.cli import AppGroup
from tqdm import tqdm

from marketplace.platform import platform
from marketplace.regions.base import utcnow
from search import indexer

search = AppGroup("search", help="The shopping search index.")


@search.command("reindex")
def reindex() -> None:
    """Build a fresh index from every region's catalog, then switch searches to it at once.
    Products whose documents cannot be built or written are skipped and named (exit 1)."""
    current = platform()
    with tqdm(desc="indexing", unit=" products", file=sys.stderr) as bar:
        try:
            rebuilt = indexer.rebuild(current.router, current.search, progress=lambda done: bar.update(done - bar.n))
        except (indexer.PartialCatalog, indexer.CatchUpIncomplete) as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"indexed {rebuilt.indexed} products with the {current.search.name} engine; "
               f"{rebuilt.caught_up} changed around the rebuild, queued again for the relay")
    if rebuilt.skipped:  # the others are indexed and searched; these need mending
        for product in rebuilt.skipped:
            click.echo(f"skipped {product.id}: {product.reason}", err=True)
        raise click.ClickException(f"{len(rebuilt.skipped)} products skipped, not in the new index: "
                                   f"{', '.join(p.id for p in rebuilt.skipped)}")


@search.command("catch-up")
@click.option("--minutes", type=click.IntRange(min=1), default=60, show_default=True,
              help="queue again the products changed in the last this many minutes")
def catch_up(minutes: int) -> None:
    """Have the relay index again the products changed recently (after a rebuild that could
    not reach every region, or an index restored from a backup)."""
    retention = platform().settings.outbox_retention_days
    if minutes > retention * 24 * 60:
        raise click.BadParameter(f"the outbox keeps {retention} days of changes; for older ones run "
                                 f"`cpu search reindex`", param_hint="--minutes")
    since = utcnow() - timedelta(minutes=minutes)
    try:
        queued = indexer.catch_up(platform().router, since=since)
    except indexer.CatchUpIncomplete as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{queued} products changed since {since:%Y-%m-%d %H:%M} UTC queued again for the relay")


@search.command("relevance")
@click.option("--queries", is_flag=True, help="Also print every query's nDCG@10, recall@10 and top-3.")
def relevance(queries: bool) -> None:
    """nDCG@10 of the tuning and test query sets by group (place, language, typo, b2b, quantity), per engine."""
    from search import relevance as judged

    judged.main(["--queries"] if queries else [], echo=click.echo)
