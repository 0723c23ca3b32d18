"""Liveness and readiness. /readyz checks every database in parallel with a deadline, so one
dead data center is reported, not waited for."""

from __future__ import annotations

import contextvars
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, jsonify
from sqlalchemy import text

from marketplace.platform import router as current_router
from marketplace.regions import schema
from marketplace.regions.router import Router

blp = Blueprint("health", __name__)
CHECK_DEADLINE_SECONDS = 1.5
_checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


@blp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """Every regional database and the directory: reachable, schema at head, latency."""
    router = current_router()
    # Each check runs in the request's context, so it keeps the request's statement deadline.
    futures = {name: _checks.submit(contextvars.copy_context().run, check_database, router, name) for name in router.database_names}
    deadline = time.monotonic() + CHECK_DEADLINE_SECONDS
    report = {}
    for name, future in futures.items():
        try:
            report[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            report[name] = {"ready": False, "reachable": False, "error": f"no answer within {CHECK_DEADLINE_SECONDS} s"}
    not_ready = [name for name, result in report.items() if not result["ready"]]
    body = {"status": "ready" if not not_ready else "not ready", "not_ready": not_ready, "databases": report}
    return jsonify(body), 200 if not not_ready else 503


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
        "ready": state.at_head,
        "reachable": True,
        "schema": state.current,
        "schema_at_head": state.at_head,
        "latency_ms": latency_ms,
    }
