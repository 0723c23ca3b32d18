"""Request ids and structured logs: every response carries X-Request-ID and every log line is
a JSON object with the request id and the region being worked on."""

from __future__ import annotations

import logging
import re
import sys
import time
from contextvars import ContextVar
from random import getrandbits

from flask import Flask, Response, g, request
from pythonjsonlogger.json import JsonFormatter

from marketplace.regions.uow import current_region, last_region

REQUEST_ID_HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_RESET_TOKEN_PATH = re.compile(r"(/reset/+)[^/]+")  # wherever it stands: `//dashboard//reset/<token>` routes too
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("marketplace.access")


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        if not getattr(record, "region", None):  # a line about another region names it itself
            record.region = current_region.get() or last_region.get()
        return True


def json_handler(stream) -> logging.Handler:
    """A handler writing one JSON object per line, with the request id and region."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(region)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    handler.addFilter(_ContextFilter())
    return handler


def configure_logging(level: str) -> None:
    """JSON lines on stderr. Idempotent: safe for every app a process creates."""
    root = logging.getLogger()
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    if any(getattr(handler, "_cpu", False) for handler in root.handlers):
        return
    handler = json_handler(sys.stderr)
    handler._cpu = True  # type: ignore[attr-defined]
    root.addHandler(handler)


def loggable_path(path: str) -> str:
    """The path as the access log may show it: a reset link's token replaced, so whoever reads
    the logs cannot take over the account."""
    return _RESET_TOKEN_PATH.sub(r"\1[redacted]", path)


def new_request_id() -> str:
    """32 random hex digits. A request id tells log lines apart and guards nothing, so it comes
    from `random` (reseeded in every forked worker), not os.urandom: that system call lets go
    of the GIL, and under a threaded worker getting it back cost the request more than the
    rest of this hook (bench/hot_paths.py)."""
    return f"{getrandbits(128):032x}"


def install(app: Flask) -> None:
    @app.before_request
    def _assign_request_id() -> None:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = offered if _WELL_FORMED.fullmatch(offered) else new_request_id()
        g.request_started = time.perf_counter()
        g.request_id_token = request_id.set(g.request_id)
        last_region.set(None)

    @app.after_request
    def _stamp_response(response: Response) -> Response:
        if "request_id" not in g:  # an error before our before_request ran
            g.request_id = new_request_id()
        response.headers[REQUEST_ID_HEADER] = g.request_id
        if access_log.isEnabledFor(logging.INFO):  # at WARNING (as benchmarked), a line not written costs nothing
            elapsed = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
            path = loggable_path(request.path)
            access_log.info(
                "%s %s %s", request.method, path, response.status_code,
                extra={"status": response.status_code, "method": request.method, "path": path,
                       "duration_ms": round(elapsed, 2)},
            )
        return response

    @app.teardown_request
    def _clear_request_id(_exc) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)
