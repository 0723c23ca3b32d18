from __future__ import annotations

from marshmallow import Schema, fields, pre_load, validate

from marketplace.buyers import terms
from marketplace.buyers.identity import company_roles
from marketplace.codes import ISO_COUNTRY, ISO_CURRENCY
from marketplace.merchants.accounts import LANGUAGES
from marketplace.merchants.auth import MIN_PASSWORD_LENGTH
from marketplace.wholenumbers import WholeNumber

LANGUAGE = fields.String(validate=validate.OneOf(LANGUAGES, error="one of " + ", ".join(LANGUAGES)))
PASSWORD = {"required": True, "load_only": True, "validate": validate.Length(min=MIN_PASSWORD_LENGTH, max=200)}


class _Lowered(Schema):
    @pre_load
    def normalise(self, data, **_kwargs):
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("email"), str):
                data["email"] = data["email"].strip().lower()
            for name in ("home_country", "country"):
                if isinstance(data.get(name), str):
                    data[name] = data[name].strip().upper()
        return data


class NewCompanySchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    tax_registration_number = fields.String(required=True, validate=validate.Length(min=1, max=40))


class SignUpSchema(_Lowered):
    email = fields.Email(required=True, validate=validate.Length(max=254), metadata={"description": "the sign-in"})
    password = fields.String(**PASSWORD)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    home_country = fields.String(required=True, validate=ISO_COUNTRY,
                                 metadata={"description": "ISO 3166-1 alpha-2; decides the home region (any country)"})
    language = LANGUAGE
    currency = fields.String(validate=ISO_CURRENCY, metadata={"description": "display currency"})
    company = fields.Nested(NewCompanySchema, metadata={"description": "open a company too, with you as its admin"})


class BuyerSchema(Schema):
    id = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(validate=validate.Length(min=1, max=200))
    home_country = fields.String(dump_only=True)
    region = fields.String(dump_only=True, metadata={"description": "code of the home data center"})
    language = LANGUAGE
    currency = fields.String(validate=ISO_CURRENCY, metadata={"description": "display currency"})
    company_id = fields.String(dump_only=True, allow_none=True)
    company_role = fields.String(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)


class SignInSchema(_Lowered):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class RefreshSchema(Schema):
    refresh_token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenPairSchema(Schema):
    access_token = fields.String(metadata={"description": "send as `Authorization: Bearer …`; lives expires_in seconds"})
    refresh_token = fields.String(metadata={"description": "spend once at /api/v1/buyer/tokens/refresh"})
    token_type = fields.String()
    expires_in = fields.Integer()
    refresh_expires_in = fields.Integer()
    buyer_id = fields.String()
    region = fields.String()


class ResetRequestSchema(_Lowered):
    email = fields.Email(required=True, validate=validate.Length(max=254))


class ResetSchema(Schema):
    token = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200),
                          metadata={"description": "what follows the last / of the link in the mail"})
    password = fields.String(**PASSWORD)


class AddressSchema(_Lowered):
    id = fields.String(dump_only=True)
    label = fields.String(validate=validate.Length(max=100), allow_none=True)
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line1 = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.String(validate=validate.Length(max=200), allow_none=True)
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))
    postal_code = fields.String(validate=validate.Length(max=20), allow_none=True)
    country = fields.String(required=True, validate=ISO_COUNTRY)
    created_at = fields.AwareDateTime(dump_only=True)


class CompanySchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    country = fields.String(dump_only=True)
    tax_registration_number = fields.String(dump_only=True)
    region = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class CompanyUserSchema(_Lowered):
    id = fields.String(dump_only=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(**PASSWORD)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(attribute="company_role", data_key="role", load_default="buyer",
                         validate=validate.OneOf(company_roles()))
    created_at = fields.AwareDateTime(dump_only=True)


class RoleSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(company_roles()))


class CompanyPointerSchema(Schema):
    id = fields.String(dump_only=True)
    region = fields.String(dump_only=True, metadata={"description": "the company's home data center"})


class NetTermsSchema(Schema):
    company_id = fields.String(dump_only=True)
    days = WholeNumber(required=True, validate=validate.OneOf(terms.allowed_days(), error=terms.DAYS_RULE),
                       metadata={"description": "pay the invoice within this many days: 30 or 60"})
    granted_by = fields.String(dump_only=True)
    granted_at = fields.AwareDateTime(dump_only=True)
