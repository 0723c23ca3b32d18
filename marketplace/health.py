"""Liveness, readiness and the operators' view of every region.

/readyz checks the databases this process serves, in parallel with a deadline, so one dead
data center is reported, not waited for. A region's process answers for its own region only
(its shard and its copy of the directory): a load balancer must not drop a healthy Kingston
server because Bridgetown is down. `overview` is the operators' wider look (`cpu regions
status`, GET /api/v1/operator/regions): every region of the map, its schema, its outbox.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, jsonify
from sqlalchemy import func, select, text

from marketplace.errors import RegionUnavailable
from marketplace.platform import router as current_router
from marketplace.regions import deadline, schema
from marketplace.regions.base import utcnow
from marketplace.regions.models import OutboxEvent
from marketplace.regions.router import DIRECTORY, Router

blp = Blueprint("health", __name__)
CHECK_DEADLINE_SECONDS = 1.5
_checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """Every database this process serves: reachable, schema servable, latency."""
    router = current_router()
    report = in_parallel(check_database, router, router.database_names)
    not_ready = [name for name, result in report.items() if not result["ready"]]
    body = {"status": "ready" if not not_ready else "not ready", "not_ready": not_ready, "databases": report}
    return jsonify(body), 200 if not not_ready else 503


def in_parallel(check: Callable[[Router, str], dict], router: Router, names: Iterable[str]) -> dict[str, dict]:
    """`check` of each database at once, each given up after CHECK_DEADLINE_SECONDS."""
    # Each check runs in the caller's context, with a budget as large as the caller's of its own.
    futures = {name: _checks.submit(contextvars.copy_context().run, _beside, check, router, name) for name in names}
    deadline = time.monotonic() + CHECK_DEADLINE_SECONDS
    report = {}
    for name, future in futures.items():
        try:
            report[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            report[name] = {"ready": False, "reachable": False, "error": f"no answer within {CHECK_DEADLINE_SECONDS} s"}
    return report


def _beside(check: Callable[[Router, str], dict], router: Router, name: str) -> dict:
    with deadline.beside():
        return check(router, name)


def check_database(router: Router, name: str) -> dict[str, object]:
    started = time.perf_counter()
    try:
        with router.engine(name).connect() as connection:
            connection.execute(text("SELECT 1"))
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        state = schema.status(router, name)
    except Exception as exc:
        router.health.mark_down(name, "unreachable")
        return {"ready": False, "reachable": False, "error": type(exc).__name__}
    router.health.mark_up(name)
    return {
        "ready": state.servable,
        "reachable": True,
        "schema": state.current,
        "schema_head": state.head,
        "schema_at_head": state.at_head,
        "schema_one_ahead": state.one_ahead,
        "latency_ms": latency_ms,
    }


def overview(router: Router) -> dict[str, dict]:
    """Every region of the map and the directory: reachable, schema against the code's head,
    and for a region its outbox (events not yet delivered, the oldest one's age, parked ones).
    A region this process does not serve is listed as such, never opened."""
    served = in_parallel(_check_with_outbox, router, router.database_names)
    return {name: served.get(name, {"served_here": False})
            for name in (*router.regions.region_codes, DIRECTORY)}


def _check_with_outbox(router: Router, name: str) -> dict[str, object]:
    report = {"served_here": True, **check_database(router, name)}
    if name == DIRECTORY or not report["reachable"]:
        return report
    pending = OutboxEvent.delivered_at.is_(None) & OutboxEvent.parked_at.is_(None)
    try:
        with router.unit_of_work(name, read_only=True) as uow:
            count, oldest = uow.session.execute(select(func.count(), func.min(OutboxEvent.created_at)).where(pending)).one()
            parked = uow.session.scalar(select(func.count()).where(OutboxEvent.parked_at.is_not(None)))
    except RegionUnavailable:  # it went away between the two looks
        return {**report, "reachable": False, "ready": False}
    report["outbox"] = {
        "pending": count,
        "oldest_pending_age_seconds": round((utcnow() - oldest).total_seconds(), 1) if oldest else None,
        "parked": parked,
    }
    return report
