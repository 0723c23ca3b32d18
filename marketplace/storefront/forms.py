"""The dashboard's small forms, as marshmallow schemas over the posted fields.

Each schema strips the text it is given and ignores fields it does not know (the CSRF
token, the submit button). Messages are written for a person filling a form, and one submit
shows every problem at once: `load` adds the text rule (form_text) to the schema's
findings, and the sign-up form applies the account's own shape rules (handle, password length,
member state, with accounts.py's pattern and minimum) beside "fill this in", rather than
leaving them to a second round. accounts.py still enforces those rules, and alone knows
whether a handle or email is taken.
"""

from __future__ import annotations

from collections.abc import Container

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates
from werkzeug.datastructures import MultiDict

from marketplace.merchants.accounts import HANDLE_SHAPE
from marketplace.merchants.auth import MIN_PASSWORD_LENGTH
from marketplace.storefront import form_text

REQUIRED = {"required": "Fill this in."}


def _text(*, required: bool = True, max_length: int = 200, rule=None, **kwargs) -> fields.String:
    """A text field; `rule` (a marshmallow validator) is checked once something was typed, so
    an empty field says only "Fill this in."."""
    checks = [validate.Length(max=max_length, error="At most {max} characters.")]
    if required:
        checks.insert(0, validate.Length(min=1, error="Fill this in."))
    if rule is not None:
        checks.append(lambda value: rule(value) if value else None)
    return fields.String(required=required, validate=checks, error_messages=REQUIRED, **kwargs)


class FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def strip(self, data, **_):
        """Spaces around typed text are dropped; a password is taken exactly as typed."""
        return {k: v.strip() if isinstance(v, str) and "password" not in k else v for k, v in dict(data).items()}


class SignUpForm(FormSchema):
    trading_name = _text()
    legal_name = _text()
    home_country = _text(max_length=2)
    email = fields.Email(required=True, validate=validate.Length(max=254), error_messages={**REQUIRED, "invalid": "An email address, like name@example.com."})
    password = _text(rule=validate.Length(min=MIN_PASSWORD_LENGTH, error="At least {min} characters."))
    handle = _text(max_length=40, rule=validate.Regexp(
        HANDLE_SHAPE, error="3 to 40 lower-case letters, digits or hyphens, not starting or ending with a hyphen."))

    def __init__(self, *, member_states: Container[str], **kwargs):
        super().__init__(**kwargs)
        self.member_states = member_states

    @validates("home_country")
    def is_member_state(self, value: str, **_) -> None:
        if value and value.upper() not in self.member_states:
            raise ValidationError("Choose a member state of the marketplace.")

    @pre_load
    def lower_case(self, data, **_):
        return {**data, **{k: str(data.get(k, "")).strip().lower() for k in ("handle", "email")}}


class SignInForm(FormSchema):
    email = _text(max_length=254)
    password = _text()


class ResetRequestForm(FormSchema):
    email = fields.Email(required=True, error_messages={**REQUIRED, "invalid": "An email address, like name@example.com."})


class NewPasswordForm(FormSchema):
    password = _text()
    password_again = fields.String(required=True, error_messages=REQUIRED)

    def validate_match(self, data: dict) -> dict[str, list[str]]:
        return {} if data["password"] == data["password_again"] else {"password_again": ["The two passwords differ."]}


class SettingsForm(FormSchema):
    name = _text()
    legal_name = _text()
    tax_id = _text(required=False, max_length=40)
    default_currency = _text(max_length=3)
    default_language = _text(max_length=2)


class ApiKeyForm(FormSchema):
    name = _text(max_length=100)


class ReturnWindowForm(FormSchema):
    return_window_days = fields.Integer(required=True, strict=False, error_messages={
        **REQUIRED, "invalid": "A whole number of days."})


class NetTermsForm(FormSchema):
    company_id = _text(max_length=40)
    days = fields.Integer(required=True, error_messages={**REQUIRED, "invalid": "Choose 30 or 60 days."})


def load(schema: Schema, form: MultiDict) -> tuple[dict, dict[str, list[str]]]:
    """(data, errors by field): data is what the schema loaded, or {} when anything was refused.
    A field whose text breaks the text rule shows that problem rather than the schema's."""
    refused = form_text.form_problems(form)
    try:
        data = schema.load(form)
    except ValidationError as exc:
        return {}, {**{name: list(messages) for name, messages in exc.normalized_messages().items()}, **refused}
    return ({}, refused) if refused else (data, {})


def settings_changes(data: dict, other_languages: list[str]) -> dict:
    """The SettingsForm's fields as update_settings wants them: languages, default first."""
    default = data["default_language"]
    return {
        "name": data["name"], "legal_name": data["legal_name"], "tax_id": data.get("tax_id") or None,
        "default_currency": data["default_currency"].upper(),
        "languages": [default, *(code for code in other_languages if code != default)],
    }
