"""Dashboard pages before signing in: sign up, sign in, sign out, password reset."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from marketplace.errors import Conflict, InvalidInput
from marketplace.merchants import accounts
from marketplace.merchants.auth import MIN_PASSWORD_LENGTH, NotAuthenticated
from marketplace.merchants.principal import signed_in_principal
from marketplace.merchants.session_cookie import forget, forget_everywhere, remember
from marketplace.platform import platform, router
from marketplace.storefront import access, forms

blp = Blueprint("account", __name__, url_prefix="/dashboard")
RESET_TOKEN = "reset_token"  # the session's copy of an opened reset link's token
blp.after_request(access.no_store)


@blp.route("/signup", methods=["GET", "POST"])
def sign_up():
    """Open a merchant account and its storefront."""
    values, errors = request.form.to_dict(), {}
    members = router().regions.countries
    if request.method == "POST":
        data, errors = forms.load(forms.SignUpForm(member_states=members), request.form)
        if not errors:
            try:
                principal = accounts.sign_up(router=router(), **data)
            except (InvalidInput, Conflict) as exc:
                errors = exc.errors or {"form": [exc.detail]}
            else:
                remember(principal)
                flash("Welcome! Your storefront is open; add your first product.")
                return redirect(url_for("storefront.dashboard.home"), 303)
    values.pop("password", None)
    countries = sorted(members.values(), key=lambda c: c.name)
    return render_template("dashboard/signup.html", values=values, errors=errors,
                           country_options=[(c.code, f"{c.name} ({c.code})") for c in countries],
                           min_password=MIN_PASSWORD_LENGTH), 422 if errors else 200


@blp.route("/signin", methods=["GET", "POST"])
def sign_in():
    """Sign in with email and password."""
    if request.method == "GET" and signed_in_principal() is not None:
        return redirect(access.safe_next(request.args.get("next")))
    values, errors = {"email": request.form.get("email", "")}, {}
    if request.method == "POST":
        data, errors = forms.load(forms.SignInForm(), request.form)
        if not errors:
            try:
                principal = accounts.sign_in(router=router(), **data)
            except NotAuthenticated as exc:
                errors = {"form": [exc.detail]}
            else:
                remember(principal)
                return redirect(access.safe_next(request.args.get("next")), 303)
    return render_template("dashboard/signin.html", values=values, errors=errors), 422 if errors else 200


@blp.post("/signout")
def sign_out():
    """Sign out (a POST with the CSRF token, so another site cannot sign you out)."""
    forget()
    flash("You are signed out.")
    return redirect(url_for("storefront.shop.home"), 303)


@blp.post("/signout-everywhere")
def sign_out_everywhere():
    """End every session of the signed-in staff user, in every browser (a copied cookie too)."""
    principal = signed_in_principal()
    if principal is None:
        return redirect(url_for(".sign_in"), 303)
    forget_everywhere(principal)
    flash("You are signed out everywhere.")
    return redirect(url_for(".sign_in"), 303)


@blp.route("/reset", methods=["GET", "POST"])
def reset_request():
    """Ask for a password reset link by email."""
    values, errors = request.form.to_dict(), {}
    if request.method == "POST":
        data, errors = forms.load(forms.ResetRequestForm(), request.form)
        if not errors:
            public = platform().settings.public_url  # never the request's Host: an attacker may set it
            link_base = (public + url_for(".reset_request") if public else url_for(".reset_request", _external=True)) + "/"
            accounts.request_password_reset(router=router(), mail=platform().mail, email=data["email"], link_base=link_base)
            return render_template("dashboard/reset_sent.html", email=data["email"])
    return render_template("dashboard/reset_request.html", values=values, errors=errors), 422 if errors else 200


@blp.get("/reset/<token>")
def open_reset_link(token: str):
    """Open the link from the email: the token moves into the signed session cookie.

    The address with the token is then left at once, so it is not in the browser's history
    past this hit, nor in a Referer, nor in the access log of the page where the password is
    chosen (this hit's own line is redacted by observability.loggable_path)."""
    session[RESET_TOKEN] = token
    return redirect(url_for(".reset_password"), 303), {"Referrer-Policy": "no-referrer"}


@blp.route("/reset/new-password", methods=["GET", "POST"])
def reset_password():
    """Choose a new password, for the reset link opened in this browser."""
    token = session.get(RESET_TOKEN)
    errors: dict[str, list[str]] = {} if isinstance(token, str) else {"token": ["no reset link opened"]}
    if request.method == "POST" and not errors:
        data, errors = forms.load(forms.NewPasswordForm(), request.form)
        errors = errors or forms.NewPasswordForm().validate_match(data)
        if not errors:
            try:
                accounts.reset_password(router=router(), token=token, password=data["password"])
            except InvalidInput as exc:
                errors = exc.errors
            else:
                session.pop(RESET_TOKEN, None)
                flash("Your password is changed. Sign in with the new one.")
                return redirect(url_for(".sign_in"), 303)
    if "token" in errors:  # used, expired or never opened: asking again is the way on
        session.pop(RESET_TOKEN, None)
    page = render_template("dashboard/reset_password.html", errors=errors, min_password=MIN_PASSWORD_LENGTH)
    return page, 422 if errors and request.method == "POST" else 200
