"""Import jobs: a dashboard upload stored and announced on the outbox, run by the relay.

`submit_job` stores the file and publishes JOB_TOPIC in the same transaction; the handler
`register_handlers` installs runs it with `run_job`, which claims the job, imports it
recording progress, and stores the report. `get_job` reads a job back for its merchant.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import defer

from marketplace.catalog.importer.errors import ImportJobBusy, ImportRefused, error_entry
from marketplace.catalog.importer.formats import FORMATS, format_of
from marketplace.catalog.models import ImportJob
from marketplace.errors import InvalidInput, NotFound
from marketplace.merchants.auth import Principal
from marketplace.regions import outbox
from marketplace.regions.base import utcnow
from marketplace.regions.ids import is_id, new_id
from marketplace.events.envelope import Envelope
from marketplace.regions.outbox import HandlerRegistry
from marketplace.regions.router import Router

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
JOB_TOPIC = "catalog.import.requested"
MAX_STORED_ERRORS = 1000
STALE_JOB = timedelta(minutes=5)  # a running job silent this long is taken over


def submit_job(*, router: Router, principal: Principal, filename: str, content: bytes) -> ImportJob:
    """Queue an uploaded file; the outbox relay imports it (see `register_handlers`)."""
    name = re.split(r"[\\/]", filename)[-1][-200:]
    problems = []
    if not name.lower().endswith(tuple(FORMATS)):
        problems.append("the file name must end in .csv or .json")
    if len(content) > MAX_FILE_BYTES:
        problems.append(f"at most {MAX_FILE_BYTES // 2**20} MB (this one is {len(content) / 2**20:.1f} MB)")
    if not content:
        problems.append("the file is empty")
    if problems:
        raise InvalidInput("The file cannot be imported.", errors={"file": problems})
    with router.unit_of_work(principal.region) as uow:
        job = ImportJob(id=new_id("imp"), region=principal.region, merchant_id=principal.merchant_id, filename=name,
                        format=format_of(name), content=content, status="queued", total_rows=0, processed_rows=0, report={})
        uow.session.add(job)
        outbox.publish(uow.session, JOB_TOPIC, {"job_id": job.id, "merchant_id": principal.merchant_id})
        uow.commit()
    return job


def get_job(*, router: Router, principal: Principal, job_id: str) -> ImportJob:
    """One of the merchant's import jobs, with its progress and report (not its file)."""
    with router.unit_of_work(principal.region, read_only=True) as uow:
        job = uow.session.get(ImportJob, job_id, options=[defer(ImportJob.content, raiseload=True)]) if is_id(job_id, "imp") else None
    if job is None or job.merchant_id != principal.merchant_id:
        raise NotFound(f"No import job {job_id}.")
    return job


CONSUMER = "catalog.import"


def register_handlers(registry: HandlerRegistry, router: Router) -> None:
    """The `catalog.import` consumer (dashboard uploads run by the relay's consumers), on `router`.

    The handler is given the router rather than finding the Flask app's, because the embedded
    relay thread runs it without an app context. It commits its own steps; a finished job is
    left alone, so running it again after a crash before its inbox record is harmless.
    """

    @registry.consumer(CONSUMER, JOB_TOPIC)
    def run_requested_import(envelope: Envelope) -> None:
        run_job(router=router, region=envelope.source_region, job_id=envelope.payload["job_id"])


def run_job(*, router: Router, region: str, job_id: str) -> None:
    """Run a queued import job; a finished one is left alone, so a redelivered event is harmless."""
    claimed = _claim(router, region, job_id)
    if claimed is None:
        return
    principal, filename, content = claimed
    try:
        report = _import_rows()(router, principal, content, filename,
                                progress=lambda done, total: _record_progress(router, region, job_id, done, total))
    except (ImportRefused, NotFound) as exc:
        error = exc.as_error() if isinstance(exc, ImportRefused) else error_entry(None, None, exc.detail)
        _finish(router, region, job_id, "failed", {"created": 0, "updated": 0, "unchanged": 0, "errors": [error], "rows": 0})
        return
    except Exception:
        _release(router, region, job_id)  # so the relay's retry need not wait for the claim to go stale
        raise
    _finish(router, region, job_id, "done", report)


def _import_rows() -> Callable[..., dict]:
    # Looked up on the package at each run, as when this was one module: replacing
    # `importer.import_rows` (the tests do, to make a run fail) reaches the relay's jobs too.
    from marketplace.catalog import importer
    return importer.import_rows


def _claim(router: Router, region: str, job_id: str) -> tuple[Principal, str, bytes] | None:
    with router.unit_of_work(region) as uow:
        job = uow.session.get(ImportJob, job_id, with_for_update=True)
        if job is None or job.status in ("done", "failed"):
            return None
        heartbeat = (job.report or {}).get("heartbeat")
        if job.status == "running" and heartbeat and utcnow() - datetime.fromisoformat(heartbeat) < STALE_JOB:
            raise ImportJobBusy(f"import job {job_id} is being run by another relay")
        job.status, job.report = "running", {"heartbeat": utcnow().isoformat()}
        claimed = Principal(merchant_id=job.merchant_id, region=region), job.filename, job.content
        uow.commit()
    return claimed


def _release(router: Router, region: str, job_id: str) -> None:
    try:
        with router.unit_of_work(region) as uow:
            uow.session.execute(update(ImportJob).where(ImportJob.id == job_id, ImportJob.status == "running")
                                .values(status="queued", report={}))
            uow.commit()
    except Exception:  # the database may be what failed; the claim then goes stale instead
        log.warning("could not release import job %s", job_id, exc_info=True)


def _record_progress(router: Router, region: str, job_id: str, done: int, total: int) -> None:
    with router.unit_of_work(region) as uow:
        uow.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            processed_rows=done, total_rows=total, report={"heartbeat": utcnow().isoformat()}))
        uow.commit()


def _finish(router: Router, region: str, job_id: str, status: str, report: dict) -> None:
    errors = report["errors"]
    if len(errors) > MAX_STORED_ERRORS:
        report = {**report, "errors": errors[:MAX_STORED_ERRORS], "errors_omitted": len(errors) - MAX_STORED_ERRORS}
    with router.unit_of_work(region) as uow:
        uow.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status=status, report=report, processed_rows=report["rows"], total_rows=report["rows"], finished_at=utcnow()))
        uow.commit()
