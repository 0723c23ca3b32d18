"""`flask --app wsgi cpu search ...`"""

import sys

import click
from flask.cli import AppGroup
from tqdm import tqdm

from marketplace.platform import platform
from search import indexer

search = AppGroup("search", help="The shopping search index.")


@search.command("reindex")
def reindex() -> None:
    """Build a fresh index from every region's catalog, then switch searches to it at once."""
    current = platform()
    with tqdm(desc="indexing", unit=" products", file=sys.stderr) as bar:
        try:
            count = indexer.rebuild(current.router, current.search, progress=lambda done: bar.update(done - bar.n))
        except indexer.PartialCatalog as exc:
            raise click.ClickException(f"{exc}; the current index is left as it was") from exc
    click.echo(f"indexed {count} products with the {current.search.name} engine")


@search.command("relevance")
def relevance() -> None:
    """nDCG@10 and recall@10 of the judged query set, per engine."""
    from search import relevance as judged

    judged.main(echo=click.echo)
