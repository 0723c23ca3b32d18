"""The one place where errors become responses: RFC 9457 problem+json for the APIs, a plain
HTML page for browser pages. Clients never see a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from html import escape

from flask import Flask, Response, g, json, request
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from marketplace import observability
from marketplace.errors import DomainError, InvalidInput, RegionUnavailable

log = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"
JSON_PATHS = ("/api/", "/healthz", "/readyz", "/webhooks/")


class ProblemSchema(Schema):
    """Every error answer of the JSON APIs, as the OpenAPI document describes it."""

    type = fields.String(metadata={"description": "what kind of problem: /problems/<slug>, or about:blank"})
    title = fields.String(metadata={"description": "short, the same for every problem of this type"})
    status = fields.Integer(metadata={"description": "the HTTP status code"})
    detail = fields.String(metadata={"description": "what went wrong this time, for a person"})
    instance = fields.String(metadata={"description": "the path that was asked for"})
    request_id = fields.String(metadata={"description": "quote it to support: it finds the request in our logs"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "for invalid input: field name -> what is wrong with it"})
    region = fields.String(metadata={"description": "region-unavailable only: the data center out of reach "
                                                    "(retry after the Retry-After header's seconds)"})


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.after_request(_guard_api_response)


def _guard_api_response(response: Response) -> Response:
    """Nothing under /api/ is ever sniffed into HTML by a browser, nor kept by a cache: an
    answer there may echo what the client sent, or carry a secret (a new API key). A view that
    says otherwise on purpose keeps its own Cache-Control (the buyers' catalog: `private,
    no-cache`, revalidated by ETag)."""
    if request.path.startswith(JSON_PATHS):
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def problem(status: int, title: str, detail: str, *, slug: str | None = None,
            errors: Mapping[str, list[str]] | None = None, extra: Mapping[str, object] | None = None,
            headers: Mapping[str, str] | None = None) -> Response:
    body: dict[str, object] = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": g.setdefault("request_id", observability.new_request_id()),
    }
    if errors:
        body["errors"] = dict(errors)
    body.update(extra or {})
    if request.path.startswith(JSON_PATHS) or not request.accept_mimetypes.accept_html:
        response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    else:
        response = Response(_html(body), status=status, mimetype="text/html")
    response.headers.update(headers or {})
    return response


def _domain_error(exc: DomainError) -> Response:
    retry_after = getattr(exc, "retry_after", None)  # the outages: a region, the search engine
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    if isinstance(exc, RegionUnavailable):
        log.warning("region %s unavailable: %s", exc.region, exc.detail)
    return problem(exc.status, exc.title, exc.detail, slug=exc.slug, errors=exc.errors, extra=exc.extra(), headers=headers)


def _http_error(exc: HTTPException) -> Response:
    data = getattr(exc, "data", None) or {}
    errors = flatten_messages(data.get("messages", {}))
    detail = exc.description or exc.name
    if exc.code == 413:
        detail = f"The request body is larger than the limit of {request.max_content_length} bytes."
        errors = {"body": [detail]}
    elif exc.code == 415:
        errors = {"Content-Type": [f"expected application/json, got {request.mimetype or 'none'}"]}
    elif errors and exc.code in (400, 422):
        detail = "The request has invalid fields; see errors."
    if exc.code == 422:
        return problem(422, InvalidInput.title, detail, slug=InvalidInput.slug, errors=errors)
    # Only the Allow header: the exception's own headers name its HTML page's Content-Type.
    allowed = getattr(exc, "valid_methods", None)
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return problem(exc.code or 500, exc.name, detail, errors=errors, headers=headers)


def _unexpected_error(exc: Exception) -> Response:
    log.exception("unhandled error")
    return problem(500, "Internal Server Error", "Something went wrong on our side; the request id identifies it in our logs.")


def flatten_messages(messages: Mapping) -> dict[str, list[str]]:
    """webargs' {"json": {"field": [...]}} becomes {"field": [...]}; nested fields get dotted names."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix or "body"] = [str(v) for v in (value if isinstance(value, list) else [value])]

    for location, inner in messages.items():
        if isinstance(inner, Mapping):
            walk("", inner)
        else:
            walk("body" if location in ("json", "form") else str(location), inner)
    return flat


def _html(body: Mapping[str, object]) -> str:
    return (
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(str(body['title']))}</title>"
        f"<main><h1>{escape(str(body['title']))}</h1><p>{escape(str(body['detail']))}</p>"
        f"<p><small>Request id: {escape(str(body['request_id']))}</small></p></main></html>"
    )
