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
            rebuilt = indexer.rebuild(current.router, current.search, progress=lambda done: bar.update(done - bar.n))
        except indexer.PartialCatalog as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"indexed {rebuilt.indexed} products with the {current.search.name} engine; "
               f"{rebuilt.caught_up} changed around the rebuild, queued again for the relay")


@search.command("relevance")
def relevance() -> None:
    """nDCG@10 and recall@10 of the judged query set, per engine."""
    from search import relevance as judged

    judged.main(echo=click.echo)
