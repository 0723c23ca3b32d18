"""Bulk import in the dashboard: upload a CSV or JSON file, then watch the job run.

The job itself is the importer's (marketplace.catalog.importer): `submit_job` stores it and
announces it on the outbox, the relay runs it, `get_job` reads it back. The importer is
imported inside the views so this module does not depend on it at import time.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from flask import Blueprint, redirect, render_template, request, url_for

from marketplace.errors import InvalidInput
from marketplace.platform import router
from marketplace.storefront import access

blp = Blueprint("imports", __name__, url_prefix="/dashboard/imports")
blp.before_request(access.require_sign_in)
blp.after_request(access.no_store)
RUNNING = ("queued", "running")
CSV_COLUMNS = (
    "product_ref", "category", "title_en", "title_es", "title_fr", "title_nl", "description_en", "description_es",
    "description_fr", "description_nl", "visibility", "image_urls", "ships_to_exclusions", "sku", "options", "price",
    "tiers", "moq", "case_pack", "hs_code", "origin_country", "weight_g", "length_mm", "width_mm", "height_mm", "stock",
)


@blp.route("/", methods=["GET", "POST"])
def upload():
    """Upload a CSV or JSON file of products; it is imported in the background."""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors = {"file": ["Choose a CSV or JSON file."]}
        else:
            from marketplace.catalog.importer import submit_job

            try:
                job = submit_job(router=router(), principal=access.principal(), filename=_plain_name(upload.filename),
                                 content=upload.read())
            except InvalidInput as exc:
                errors = {"file": [m for messages in exc.errors.values() for m in messages] or [exc.detail]}
            else:
                return redirect(url_for(".job", job_id=job.id), 303)
    return render_template("dashboard/import.html", errors=errors, columns=CSV_COLUMNS), 422 if errors else 200


@blp.get("/<job_id>")
def job(job_id: str):
    """An import's progress; the page reloads itself every second until the job is finished."""
    from marketplace.catalog.importer import get_job
    from marketplace.catalog.importer.writer import rows_with_errors

    found = get_job(router=router(), principal=access.principal(), job_id=job_id)
    report = found.report or {}
    row_errors = report.get("errors") or []
    bad_rows = report.get("rows_with_errors", rows_with_errors(row_errors))  # reports stored before the count
    return render_template(
        "dashboard/import_job.html", job=found, running=found.status in RUNNING, report=report,
        row_errors=row_errors, bad_rows=bad_rows, percent=_percent(found.processed_rows, found.total_rows),
    )


def _plain_name(filename: str) -> str:
    """The file's own name, without any folders a browser sent along, at most 200 characters."""
    return PurePosixPath(filename.replace("\\", "/")).name[-200:] or "upload"


def _percent(done: int | None, total: int | None) -> int:
    return int(100 * (done or 0) / total) if total else 0
