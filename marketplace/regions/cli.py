"""`cpu regions ...`: the operators' look at every region, from a shell.

`status` prints what GET /api/v1/operator/regions answers (marketplace.health.overview): run
where every region's database can be reached (no CPU_REGION) it shows all six; in a region's
own process it shows that region and the directory, and the others as not served there.
"""

from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import AppGroup

from marketplace import health
from marketplace.errors import RegionUnavailable
from marketplace.platform import platform
from marketplace.regions.deadline import deadline_for

regions = AppGroup("regions", help="Regions: reachability, schema and outbox backlog of each.")


def served(chosen: tuple[str, ...]) -> list[str]:
    """The regions a command's --region options name (every region this process serves when
    none): each must exist and be this process's to serve, as the router would refuse it."""
    current = platform()
    unknown = set(chosen) - set(current.regions.region_codes)
    if unknown:
        raise click.BadParameter(f"unknown region(s): {', '.join(sorted(unknown))}", param_hint="--region")
    foreign = set(chosen) - set(current.router.served_regions)
    if foreign:
        raise click.BadParameter(f"{', '.join(sorted(foreign))} not served by this process (CPU_REGION="
                                 f"{current.settings.region}): run the command in that region", param_hint="--region")
    return list(chosen or current.router.served_regions)


def replay_in_each(chosen: list[str], replay: Callable[[str], int], what: str, *, done: str = "queued again",
                   verb: str = "replayed") -> None:
    """Run a replay (or another per-region repair: `done` and `verb` word it) region by region,
    one line each; a region that cannot be reached is named and the command fails at the end,
    once the others are done."""
    unreachable = []
    for region in chosen:
        try:
            count = replay(region)
        except RegionUnavailable:
            unreachable.append(region)
            click.echo(f"{region} unreachable: nothing {verb} there")
            continue
        click.echo(f"{region} {count} {what} {done}")
    if unreachable:
        raise click.ClickException(f"not {verb} in {', '.join(unreachable)}; run it again once they are back")


@regions.command("status")
def regions_status() -> None:
    """Every region: reachable?, schema revision against the head, undelivered outbox events.
    Exits 1 when a region this process serves is unreachable or its schema is not servable."""
    with deadline_for(health.CHECK_DEADLINE_SECONDS):  # a silent region is reported, not waited for
        report = health.overview(platform().router)
    troubled = False
    for name, state in report.items():
        click.echo(f"{name:<10} {_describe(state)}")
        troubled |= state.get("served_here", True) and not state.get("ready", False)
    if troubled:
        raise click.exceptions.Exit(1)


def _describe(state: dict) -> str:
    if not state.get("served_here", True):
        return "not served by this process (CPU_REGION)"
    if not state["reachable"]:
        return f"UNREACHABLE ({state['error']})"
    schema = ("at head" if state["schema_at_head"] else "one migration ahead" if state["schema_one_ahead"]
              else f"BEHIND (head {state['schema_head']})")
    line = f"reachable {state['latency_ms']:>7} ms  schema {state['schema']} {schema}"
    outbox = state.get("outbox")
    if outbox is not None:
        age = outbox["oldest_pending_age_seconds"]
        line += (f"  outbox {outbox['pending']} pending" + (f", oldest {age} s" if age is not None else "")
                 + f", {outbox['parked']} parked")
    return line
