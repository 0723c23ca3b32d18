"""`cpu edge nginx-config`: the edge router's nginx.conf for one data center, rendered from the
region map, so a region added to regions.toml gets its upstream and its route without an edit
here. The template is deploy/nginx/edge.conf.j2; docs/decisions/0003-edge-routing.md says why
the edge asks the app and how it retries a 421."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from marketplace.platform import platform

TEMPLATES = Path(__file__).resolve().parents[1] / "deploy" / "nginx"

edge = AppGroup("edge", help="The edge router in front of the regions.")


@edge.command("nginx-config")
@click.option("--entry", required=True, help="The data center this edge stands in: its region answers the lookup.")
@click.option("--listen", default="80", show_default=True, help="nginx's listen address.")
@click.option("--upstream", "upstreams", multiple=True, metavar="REGION=HOST:PORT", required=True,
              help="Where a region's servers are; once per region of the map.")
@click.option("--workers", default="auto", show_default=True, help="nginx worker_processes.")
def nginx_config(entry: str, listen: str, upstreams: tuple[str, ...], workers: str) -> None:
    """Print the edge's nginx.conf."""
    click.echo(render(entry=entry, listen=listen, upstreams=_parse_upstreams(upstreams), workers=workers))


def render(*, entry: str, listen: str, upstreams: dict[str, str], workers: str = "auto") -> str:
    """The nginx.conf of the edge in `entry`'s data center, with one upstream per region."""
    regions = platform().regions.region_codes
    missing, unknown = set(regions) - set(upstreams), set(upstreams) - set(regions)
    if entry not in regions:
        raise click.BadParameter(f"{entry!r} is not a region of the map ({', '.join(regions)})", param_hint="--entry")
    if missing or unknown:
        raise click.BadParameter(f"one address per region of the map: missing {', '.join(sorted(missing)) or '-'}, "
                                 f"unknown {', '.join(sorted(unknown)) or '-'}", param_hint="--upstream")
    environment = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)
    return environment.get_template("edge.conf.j2").render(
        entry=entry, listen=listen, workers=workers, upstreams={code: upstreams[code] for code in regions},
        max_body_bytes=platform().settings.max_body_bytes, retry_after=platform().settings.region_retry_after)


def _parse_upstreams(pairs: tuple[str, ...]) -> dict[str, str]:
    upstreams = {}
    for pair in pairs:
        region, _, address = pair.partition("=")
        if not address:
            raise click.BadParameter(f"{pair!r} is not REGION=HOST:PORT", param_hint="--upstream")
        upstreams[region.strip()] = address.strip()
    return upstreams
