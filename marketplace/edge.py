"""The edge's question to the app: which region answers this request? (docs/decisions/0003)

The edge router (nginx, deploy/nginx/) in front of a data center asks its own region's
process, before it forwards a request, `GET /edge/route` with the request's method and URI in
headers (and its Authorization and Cookie as they came). The answer names the party's home
region in `X-CPU-Region`, and the edge sends the request there. Any region can answer: the
lookup reads only the directory's pointers (merchant, API key -> region; storefront handle ->
merchant), the region a signed session cookie carries and the region a buyer token names
(`cpb.<region>.…`), never a party's own rows. So a
request for a Martinique merchant that enters in Kingston is answered in Fort-de-France, and
Kingston never reads that merchant's data. A buyer's product read (`/api/v1/products/<id>`)
names only the product: its pointer (catalog.locator) names the region.

A request naming no party (the home page, search, a sign-up whose country is in its body)
gets no region: the edge's own region answers it. Where the body decides (a sign-up for
Martinique entering in Kingston), that region refuses with 421 before it reads or writes any
shard, and names the home region in `X-CPU-Region` too, so the edge sends the request again
there.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, session
from werkzeug.exceptions import HTTPException

from marketplace import problems
from marketplace.buyers.tokens import region_of_token
from marketplace.errors import RegionUnavailable
from marketplace.merchants.session_cookie import REGION
from marketplace.platform import router
from marketplace.regions.ids import is_id
from marketplace.regions.router import ForeignRegion

REGION_HEADER = "X-CPU-Region"
METHOD_HEADER, URI_HEADER = "X-Original-Method", "X-Original-URI"  # set by the edge

blp = Blueprint("edge", __name__)


@blp.get("/edge/route")
def route() -> Response:
    """Name the home region of the party the edge's request is about (none: the edge's own answers)."""
    region = home_region(method=request.headers.get(METHOD_HEADER, "GET"),
                         uri=request.headers.get(URI_HEADER, "/"),
                         authorization=request.headers.get("Authorization", ""))
    response = Response(status=204)
    if region is not None:
        response.headers[REGION_HEADER] = region
    return response


@blp.app_errorhandler(ForeignRegion)
def misdirected(exc: ForeignRegion) -> Response:
    """The 421 problem, with the home region in a header too: an edge reads headers, not bodies."""
    return problems.problem(exc.status, exc.title, exc.detail, slug=exc.slug, extra=exc.extra(),
                            headers={REGION_HEADER: exc.region})


def home_region(*, method: str, uri: str, authorization: str) -> str | None:
    """The region that holds the party a request names, from what the edge can see of it: an
    API key in Authorization, a merchant id or storefront handle in the path, or the region
    a buyer token or the signed session cookie names (a buyer asking about a merchant goes to
    the merchant's region: the signed token says who the buyer is there). None when it names none, or the directory cannot say now
    (the edge's own region then answers, with its own 404 or 503)."""
    try:
        party = _api_key_of(authorization) or _party_in_path(method, uri)
        if party is not None:
            return router().region_of(party)
        product = _product_in_path(method, uri)
        if product is not None and (region := router().region_of(product)) is not None:
            return region
    except RegionUnavailable:
        return None
    return _buyer_token_region(authorization) or _session_region()


def _api_key_of(authorization: str) -> str | None:
    """The key id of `Bearer cpu.<key id>.<secret>`; the secret is never looked at here."""
    scheme, _, token = authorization.partition(" ")
    prefix, _, rest = token.strip().partition(".")
    key_id = rest.partition(".")[0]
    if scheme.lower() == "bearer" and prefix == "cpu" and is_id(key_id, "key"):
        return key_id
    return None


def _buyer_token_region(authorization: str) -> str | None:
    """The region a buyer token names (`Bearer cpb.<region>.<secret>`): no lookup at all."""
    scheme, _, token = authorization.partition(" ")
    return region_of_token(router(), token.strip()) if scheme.lower() == "bearer" else None


def _route_arguments(method: str, uri: str) -> dict[str, str]:
    """The arguments of the app's own route for this request; none for no such page."""
    path = uri.partition("?")[0]
    try:
        _endpoint, arguments = current_app.url_map.bind("localhost").match(path, method=method)
    except HTTPException:  # no such page, or a redirect to one: the edge's own region says so
        return {}
    return arguments


def _party_in_path(method: str, uri: str) -> str | None:
    """The merchant a path names, found by the app's own routes: `<merchant_id>` or `<handle>`."""
    arguments = _route_arguments(method, uri)
    if "merchant_id" in arguments:
        return arguments["merchant_id"]
    if "handle" in arguments:
        return router().merchant_of_handle(arguments["handle"])
    return None


def _product_in_path(method: str, uri: str) -> str | None:
    """A product id the path names (`<product_id>`): the directory points it to its merchant's
    region (catalog.locator). Checked after the merchant: a storefront product page is routed
    by its handle, and a product without a pointer yet falls through to the session's region."""
    product_id = _route_arguments(method, uri).get("product_id")
    return product_id if isinstance(product_id, str) and is_id(product_id, "prd") else None


def _session_region() -> str | None:
    """The home region a dashboard session cookie carries (Flask has checked its signature)."""
    region = session.get(REGION)
    return region if isinstance(region, str) and region in router().regions.regions else None
