"""The merchant's own account through the JSON API: settings, API keys, and the buyer companies
it names (price lists) and grants net payment terms."""

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marketplace.codes import ISO_CURRENCY
from marketplace.buyers import directory as buyer_directory
from marketplace.buyers import terms
from marketplace.buyers.schemas import CompanyPointerSchema, NetTermsSchema
from marketplace.merchants import accounts, api_keys
from marketplace.merchants.principal import current_principal, require_principal
from marketplace.merchants.schemas import LANGUAGE_LIST
from marketplace.platform import router

blp = Blueprint("merchant_account", __name__, url_prefix="/api/v1/merchant", description="Your merchant account")
blp.before_request(require_principal)


class MerchantSettingsSchema(Schema):
    id = fields.String(dump_only=True)
    region = fields.String(dump_only=True)
    home_country = fields.String(dump_only=True)
    handle = fields.String(dump_only=True)
    name = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "trading name"})
    legal_name = fields.String(validate=validate.Length(min=1, max=200))
    tax_id = fields.String(validate=validate.Length(max=40), allow_none=True)
    default_currency = fields.String(validate=ISO_CURRENCY)
    languages = LANGUAGE_LIST


class StaffSchema(Schema):
    id = fields.String(dump_only=True)
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    role = fields.String(load_default="staff", validate=validate.OneOf(["owner", "staff"]))
    created_at = fields.AwareDateTime(dump_only=True)


class ApiKeySchema(Schema):
    id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    created_at = fields.AwareDateTime(dump_only=True)
    last_used_at = fields.AwareDateTime(dump_only=True, allow_none=True, metadata={"description": "null: never used"})
    revoked_at = fields.AwareDateTime(dump_only=True, allow_none=True, metadata={"description": "null: in force"})
    role = fields.String(dump_only=True, metadata={"description": "owner or staff: the role of its maker"})
    created_by_staff_id = fields.String(dump_only=True, allow_none=True,
                                        metadata={"description": "the staff user who made it (null: another key did)"})
    created_by_key_id = fields.String(dump_only=True, allow_none=True,
                                      metadata={"description": "the API key that made it (null: a staff user did)"})


class NewApiKeySchema(ApiKeySchema):
    token = fields.String(dump_only=True, metadata={"description": "shown this once; store it now"})


@blp.route("/settings")
class Settings(MethodView):
    @blp.response(200, MerchantSettingsSchema)
    def get(self):
        """Your account settings."""
        return accounts.get_merchant(router=router(), principal=current_principal())

    @blp.arguments(MerchantSettingsSchema())
    @blp.response(200, MerchantSettingsSchema)
    def patch(self, changes):
        """Change names, tax number, default currency or languages (owners only)."""
        return accounts.update_settings(router=router(), principal=current_principal(), changes=changes)


@blp.route("/staff")
class Staff(MethodView):
    @blp.response(200, StaffSchema(many=True))
    def get(self):
        """Your staff users (owners only)."""
        return accounts.list_staff(router=router(), principal=current_principal())

    @blp.arguments(StaffSchema())
    @blp.response(201, StaffSchema)
    def post(self, data):
        """Add a staff user or owner (owners only); they sign in to the dashboard with this email."""
        return accounts.add_staff(router=router(), principal=current_principal(), **data)


@blp.route("/api-keys")
class ApiKeys(MethodView):
    @blp.response(200, ApiKeySchema(many=True))
    def get(self):
        """Your API keys, revoked ones too, and who made each (owners only; never their secrets)."""
        return api_keys.list_(router=router(), principal=current_principal())

    @blp.arguments(ApiKeySchema())
    @blp.response(201, NewApiKeySchema)
    def post(self, data):
        """Make an API key with your role (owners only); its secret is in the answer and nowhere else."""
        key, token = api_keys.create(router=router(), principal=current_principal(), name=data["name"])
        return {**{name: getattr(key, name) for name in ApiKeySchema().dump_fields}, "token": token}


@blp.route("/api-keys/<key_id>")
class ApiKeyById(MethodView):
    @blp.response(200, ApiKeySchema)
    def delete(self, key_id):
        """Revoke an API key (owners only)."""
        return api_keys.revoke(router=router(), principal=current_principal(), key_id=key_id)


@blp.route("/companies/<company_id>")
class CompanyById(MethodView):
    @blp.response(200, CompanyPointerSchema)
    @blp.alt_response(404, description="No such buyer company")
    def get(self, company_id):
        """Check a buyer company's id before naming it on a price list (its data stays with the company)."""
        return buyer_directory.pointer(router=router(), company_id=company_id)


@blp.route("/net-terms")
class NetTerms(MethodView):
    @blp.response(200, NetTermsSchema(many=True))
    def get(self):
        """The buyer companies you let pay by invoice on net terms."""
        return terms.list_(router=router(), principal=current_principal())


@blp.route("/net-terms/<company_id>")
class NetTermsByCompany(MethodView):
    @blp.arguments(NetTermsSchema())
    @blp.response(200, NetTermsSchema)
    @blp.alt_response(404, description="No such buyer company")
    def put(self, data, company_id):
        """Let a buyer company pay your orders by invoice within 30 or 60 days (owners only)."""
        return terms.grant(router=router(), principal=current_principal(), company_id=company_id, days=data["days"])

    @blp.response(204)
    @blp.alt_response(404, description="No terms granted to this company")
    def delete(self, company_id):
        """Take a company's net terms away (owners only): its next checkouts with you pay otherwise."""
        terms.revoke(router=router(), principal=current_principal(), company_id=company_id)
