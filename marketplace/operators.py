"""The operators' JSON view of every region (GET /api/v1/operator/regions), for dashboards and
runbooks: the same report as `cpu regions status`.

It names databases and shows how far behind each region's events are, which is nobody's
business but the operators': it needs the bearer token CPU_OPERATOR_TOKEN, compared in
constant time so the answer's timing cannot spell the token out. No token configured: nobody.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, jsonify, request

from marketplace import health
from marketplace.errors import DomainError, PermissionDenied
from marketplace.platform import platform

blp = Blueprint("operators", __name__, url_prefix="/api/v1/operator")


class OperatorNotAuthenticated(DomainError):
    status = 401
    title = "Not authenticated"
    slug = "not-authenticated"


@blp.get("/regions")
def regions():
    """Every region: reachable, schema against the code's head, outbox backlog."""
    _require_operator()
    report = health.overview(platform().router)
    return jsonify(served_region=platform().router.region,
                   regions=[{"name": name, **state} for name, state in report.items()])  # in the map's order


def _require_operator() -> None:
    expected = platform().settings.operator_token
    if not expected:
        raise PermissionDenied("The operator view is not enabled on this server (CPU_OPERATOR_TOKEN is not set).")
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip().encode(), expected.encode()):
        raise OperatorNotAuthenticated("Send the operator token as Authorization: Bearer <token>.")
