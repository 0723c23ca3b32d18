"""The application factory."""

from __future__ import annotations

import functools

import os
import weakref
from collections.abc import Callable, Mapping
from datetime import timedelta
from http import HTTPStatus
from inspect import iscoroutinefunction

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace import cli, config, edge, health, jsonbody, observability, openapi, operators, problems, throttle
from marketplace.buyers import api as buyers_api
from marketplace.catalog import importer, locator
from marketplace.catalog.api import blp as catalog_blp
from marketplace.catalog.public_api import blp as catalog_public_blp
from marketplace.inventory import service as inventory_service
from marketplace.inventory.api import blp as inventory_blp
from marketplace.merchants.api import blp as merchants_blp
from marketplace.merchants.merchant_api import blp as merchant_account_blp
from marketplace.orders import api as orders_api
from marketplace.orders import saga
from marketplace.storefront.views import blp as storefront_blp
from search import indexer
from search.api import blp as search_blp
from marketplace.platform import Platform
from marketplace.regions import deadline, pointers, regionmap, schema
from marketplace.regions.router import Router
from marketplace.notifications import orders as order_mail
from marketplace.webhooks import fanout as webhook_fanout
from marketplace.webhooks.api import blp as webhooks_blp
from marketplace.webhooks.sending import Sender as WebhookSender
from payments import api as payments_api
from payments import events as payment_events
from payments import service as payment_service
from payments import payouts_api
from payments.stripe import views as stripe_views
from payments.stripe import webhooks as stripe_webhooks
from logistics import api as logistics_api
from logistics import tracking as postal_tracking
from logistics.webhook import blp as postal_webhooks_blp

WRITE_METHODS = ("POST", "PUT", "PATCH")


csrf = CSRFProtect()


class MarketplaceApi(Api):
    """flask-smorest, with errors left to marketplace.problems (RFC 9457), not its own format,
    and documented as what they are: application/problem+json bodies of ProblemSchema."""

    ERROR_SCHEMA = problems.ProblemSchema

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["content"] = {problems.PROBLEM_TYPE: {"schema": self.ERROR_SCHEMA}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, {
            "description": "Any other error", "content": {problems.PROBLEM_TYPE: {"schema": self.ERROR_SCHEMA}},
        }, lazy=True)


class MarketplaceFlask(Flask):
    """Flask, with what it re-derives on every request decided once.

    Flask asks `inspect` whether each hook, view and error handler is a coroutine function each
    time it calls one: seventeen times on a plain API GET here, a measurable share of the
    hot paths (bench/hot_paths.py). A function does not change kind, so the answer is kept per
    function (bound methods by their function, so per-request views do not fill the map)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._coroutine_functions: weakref.WeakKeyDictionary[Callable, bool] = weakref.WeakKeyDictionary()

    def ensure_sync(self, func: Callable) -> Callable:
        target = getattr(func, "__func__", func)
        try:
            is_coroutine = self._coroutine_functions.get(target)
            if is_coroutine is None:
                is_coroutine = self._coroutine_functions[target] = iscoroutinefunction(func)
        except TypeError:  # not weakly referable: ask every time, as Flask does
            is_coroutine = iscoroutinefunction(func)
        return self.async_to_sync(func) if is_coroutine else func


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, free for the requests that carry no session cookie.

    Flask builds a signing serializer to open every request's session and works out every
    cookie attribute to save it, even for an API call with no cookie whose session nobody
    touches; those requests get the empty session Flask would have opened, and saving an
    untouched empty session does nothing, as Flask's own `save_session` concludes. A request
    with no Cookie header at all is told apart without parsing any."""

    def open_session(self, app, request):
        if app.secret_key and ("HTTP_COOKIE" not in request.environ or not request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


def create_app(test_config: Mapping[str, object] | None = None) -> Flask:
    """Build the app: settings, logging, the router, blueprints, error handlers, commands.

    Outside the `flask` command line, the service refuses to start when any database's schema
    is behind the code; `cpu db upgrade` is how it gets there.
    """
    settings = config.load(test_config)
    observability.configure_logging(settings.log_level)
    region_map = regionmap.load(settings.regions_file)
    router = Router(settings, region_map)

    app = MarketplaceFlask(__name__, instance_path=str(settings.instance_path))
    app.session_interface = CookieSessions()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SECRET_KEY_FALLBACKS=list(settings.secret_key_fallbacks),  # older cookie keys, still accepted
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE="CPU Marketplace API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        TESTING=bool((test_config or {}).get("TESTING", False)),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_ENABLED=not bool((test_config or {}).get("CSRF_DISABLED", False)),
    )
    if settings.trusted_proxies:
        # Behind load balancers, the client's address (throttles, logs) and scheme come from
        # their X-Forwarded-For/-Proto; never from a client's own, which anyone can write.
        # Not the host: many proxies pass a client's X-Forwarded-Host through, and links in
        # emails are built from CPU_PUBLIC_URL instead.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)
    current = Platform(settings=settings, regions=region_map, router=router)
    app.extensions["cpu"] = current

    observability.install(app)
    problems.register(app)
    csrf.init_app(app)
    app.before_request(_require_json_bodies)
    jsonbody.install(app)
    deadline.install(app, settings.db_request_deadline)
    api = MarketplaceApi(app, spec_kwargs=openapi.spec_kwargs(app))
    openapi.install(api, region_map)
    for blueprint in (merchants_blp, merchant_account_blp, webhooks_blp, catalog_blp, catalog_public_blp, inventory_blp,
                      search_blp, buyers_api.sign_up_blp, buyers_api.auth_blp, buyers_api.blp, orders_api.blp,
                      orders_api.merchant_blp, payments_api.blp, payouts_api.blp, logistics_api.merchant_blp,
                      logistics_api.buyer_blp):
        api.register_blueprint(blueprint)
        # The JSON APIs accept only application/json bodies, which a cross-site form cannot
        # send without a CORS preflight we never grant: CSRF tokens are for the HTML forms.
        csrf.exempt(blueprint)
    app.register_blueprint(storefront_blp)
    app.register_blueprint(postal_webhooks_blp)
    csrf.exempt(postal_webhooks_blp)  # signed by the operator (HMAC), not a browser's form
    throttle.install(app, settings.rate_limit_storage)
    app.register_blueprint(health.blp)
    app.register_blueprint(operators.blp)
    app.register_blueprint(edge.blp)
    app.register_blueprint(stripe_views.blp)
    csrf.exempt(stripe_views.blp)  # Stripe signs its requests (Stripe-Signature) and holds no cookie
    importer.register_handlers(current.handlers, router)
    indexer.register_handlers(current.handlers, router, lambda: current.search)
    locator.register_handlers(current.handlers, router)
    current.chores.append(functools.partial(inventory_service.sweep, router))  # expired stock reservations go back on sale
    saga.register_handlers(current.handlers, router, lambda: current.payments)
    current.chores.append(functools.partial(saga.sweep_deadlines, router))  # checkouts whose merchant regions did not answer in time
    current.handlers.announce("merchant.registered")  # for payouts, notifications, ...
    pointers.register(current.handlers, router)  # each region's copy of the directory
    webhook_fanout.register_handlers(current.handlers)
    stripe_webhooks.register_handlers(current.handlers, router, lambda: current.stripe)
    order_mail.register_handlers(current.handlers, router, lambda: current.mail)
    payment_events.register_handlers(current.handlers, router, lambda: current.payments)
    current.chores.append(functools.partial(payment_service.release_due, router))  # escrow ends N days after the last delivery attempt
    postal_tracking.register_handlers(current.handlers, router)
    current.chores.append(WebhookSender(router, settings))
    cli.register(app)

    serving = os.environ.get("FLASK_RUN_FROM_CLI") != "true"
    if serving and settings.schema_check:
        schema.require_head(router)
    if serving and settings.relay_in_process:
        current.start_relay_thread()
    return app


def _require_json_bodies() -> None:
    if request.routing_exception is not None:
        return  # a 404 or 405 is the truer answer than "wrong Content-Type"
    if request.path.startswith("/api/") and request.method in WRITE_METHODS and not request.is_json:
        raise UnsupportedMediaType("Send the request body as JSON with Content-Type: application/json.")
