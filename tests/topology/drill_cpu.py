"""`cpu` as a region's relay and consumer processes run it, plus one consumer of the drill's own:
`drill.mirror` applies every region's `merchant.renamed` in every region (`everywhere`), so the
drill can watch events cross from one data center to another through the brokers. Its effect is
its inbox row, written in its own transaction (`transactional`): one row per event applied, in
the order applied (`applied_at`).

Run as `python -m tests.topology.drill_cpu events consume` (or `relay`), with the environment of
the region's server."""

from __future__ import annotations

from flask.cli import ScriptInfo

from marketplace.app import create_app
from marketplace.cli import cpu
from marketplace.merchants.accounts import MERCHANT_RENAMED

MIRROR = "drill.mirror"


def create_drill_app():
    app = create_app()
    registry = app.extensions["cpu"].handlers

    @registry.consumer(MIRROR, MERCHANT_RENAMED, everywhere=True, transactional=True)
    def mirror(_envelope, _session) -> None:
        """Nothing beyond the inbox row its transaction already holds."""

    return app


if __name__ == "__main__":
    cpu.main(obj=ScriptInfo(create_app=create_drill_app))
