"""The signed-in merchant's dashboard: overview, settings, API keys, webhooks and balance."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from marketplace.errors import InvalidInput
from marketplace.merchants import accounts, api_keys, session_cookie
from marketplace.money import Money
from marketplace.platform import platform, router
from marketplace.storefront import access, forms
from marketplace.storefront.product_form import LANGUAGE_NAMES
from marketplace.webhooks import service as webhooks
from payments import statement as payment_statement
from payments import payouts
from payments.gateways import ProviderError

blp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
blp.before_request(access.require_sign_in)
blp.after_request(access.no_store)


@blp.get("/")
def home():
    """The overview: the storefront's address and what to do next."""
    merchant = accounts.get_merchant(router=router(), principal=access.principal())
    return render_template("dashboard/home.html", merchant=merchant)


@blp.route("/settings", methods=["GET", "POST"])
def settings():
    """Trading and legal name, tax number, default currency and languages."""
    merchant = accounts.get_merchant(router=router(), principal=access.principal())
    values, errors = _settings_values(merchant), {}
    if request.method == "POST":
        values = {**request.form.to_dict(), "languages": request.form.getlist("languages")}
        data, errors = forms.load(forms.SettingsForm(), request.form)
        if not errors:
            changes = forms.settings_changes(data, request.form.getlist("languages"))
            try:
                accounts.update_settings(router=router(), principal=access.principal(), changes=changes)
            except InvalidInput as exc:
                errors = {("default_language" if k == "languages" else k): v for k, v in exc.errors.items()}
            else:
                flash("Settings saved.")
                return redirect(url_for(".settings"), 303)
    rail = payouts.describe_rail(router(), access.principal(), platform().payments.payouts.name)
    return render_template("dashboard/settings.html", merchant=merchant, values=values, errors=errors,
                           currency_options=[(c, c) for c in _currencies(merchant)], languages=LANGUAGE_NAMES,
                           payout_rail=rail), 422 if errors else 200


@blp.get("/payouts")
def payouts_return():
    """Where Stripe's onboarding sends its owner back: the account's state is read from Stripe
    first (so the rail shown is the one the next payout takes), then the settings page says it."""
    principal = access.principal()
    principal.require_owner("read the Stripe account back")
    try:
        payouts.refresh_account(platform().stripe, principal)
    except ProviderError as exc:
        flash(f"Stripe could not be asked how your account stands ({exc}); this page will show it once Stripe tells us.")
    return redirect(url_for(".settings") + "#payout-rail", 303)


def _settings_values(merchant) -> dict:
    return {"name": merchant.name, "legal_name": merchant.legal_name or "", "tax_id": merchant.tax_id or "",
            "default_currency": merchant.default_currency or "", "default_language": merchant.default_language,
            "languages": list(merchant.languages or [])}


def _currencies(merchant) -> list[str]:
    """The member states' currencies, and the merchant's own should it be another."""
    codes = {c.currency for c in router().regions.countries.values()} | {"USD", "EUR"}
    return sorted(codes | ({merchant.default_currency} if merchant.default_currency else set()))


@blp.route("/api-keys", methods=["GET", "POST"])
def keys():
    """Your API keys; a new key's secret is shown on this page once and never again.

    Making a key redirects (303) to this page, so reloading it never makes another key. The
    secret crosses the redirect split between the session's row and the cookie
    (session_cookie.keep_for_next_page): neither half alone tells it, and the page that shows
    it empties the row, so a reload or a replayed cookie shows the list only."""
    values, errors = request.form.to_dict(), {}
    if request.method == "POST":
        data, errors = forms.load(forms.ApiKeyForm(), request.form)
        if not errors:
            _, secret = api_keys.create(router=router(), principal=access.principal(), name=data["name"])
            session_cookie.keep_for_next_page(secret)
            return redirect(url_for(".keys"), 303)
    listed = api_keys.list_(router=router(), principal=access.principal())
    token = None if errors else session_cookie.take_kept()
    page = render_template("dashboard/api_keys.html", keys=listed, token=token, values=values, errors=errors)
    return page, 422 if errors else 200


@blp.post("/api-keys/<key_id>/revoke")
def revoke_key(key_id: str):
    """Revoke an API key: requests made with it are refused from now on."""
    key = api_keys.revoke(router=router(), principal=access.principal(), key_id=key_id)
    flash(f"The key “{key.name}” is revoked.")
    return redirect(url_for(".keys"), 303)


@blp.get("/webhooks")
def webhooks_log():
    """Your webhooks and their latest deliveries, each attempt's answer, latency and error (owners only)."""
    logged = webhooks.recent_log(router=router(), principal=access.principal())
    return render_template("dashboard/webhooks.html", logged=logged, topics=webhooks.topics())


@blp.get("/balance")
def balance():
    """Held, available and paid out per currency, and the latest ledger lines (owners only)."""
    statement = payment_statement.for_merchant(router=router(), principal=access.principal(),
                                               provider_name=platform().payments.payouts.name)
    return render_template("dashboard/balance.html", statement=statement, money=Money)


@blp.get("/parcels")
def parcels():
    """Your parcels that need attention: held by customs, a delivery attempt failed, or coming back."""
    from logistics import shipments

    return render_template("dashboard/parcels.html", parcels=shipments.exceptions(router=router(), principal=access.principal()))
