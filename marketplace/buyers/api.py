"""The buyer side of the mobile API: opening an account, tokens, and the buyer's own profile,
addresses and company. Every buyer endpoint acts on the caller's own rows only (their
profile, their addresses, the company they act for), so another buyer's ids are not found."""

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.buyers import accounts, addresses, companies, tokens
from marketplace.buyers.principal import require_buyer, require_buyer_before_request
from marketplace.buyers.schemas import (
    AddressSchema, BuyerSchema, CompanySchema, CompanyUserSchema, RefreshSchema, ResetRequestSchema, ResetSchema,
    RoleSchema, SignInSchema, SignUpSchema, TokenPairSchema,
)
from marketplace.platform import platform, router
from marketplace.regions import idempotency

RESET_PATH = "/app/reset-password/"  # the mobile app opens these links (a universal link)

sign_up_blp = Blueprint("buyers", __name__, url_prefix="/api/v1/buyers", description="Buyer accounts")
auth_blp = Blueprint("buyer_auth", __name__, url_prefix="/api/v1/buyer", description="Buyer sign-in")
blp = Blueprint("buyer", __name__, url_prefix="/api/v1/buyer", description="Your buyer account")
blp.before_request(require_buyer_before_request)


@sign_up_blp.route("")
class Buyers(MethodView):
    @sign_up_blp.arguments(SignUpSchema())
    @sign_up_blp.response(201, BuyerSchema)
    @sign_up_blp.alt_response(409, description="The email is already registered")
    @sign_up_blp.alt_response(429, description="Too many sign-ups from this address")
    @sign_up_blp.doc(parameters=[idempotency.OPENAPI_HEADER])
    def post(self, data):
        """Open a buyer account (and a company, with you as admin) in your home region; then sign in."""
        return accounts.sign_up(router=router(), idempotency_key=request.headers.get("Idempotency-Key"), **data)


@auth_blp.route("/tokens")
class Tokens(MethodView):
    @auth_blp.arguments(SignInSchema())
    @auth_blp.response(200, TokenPairSchema)
    @auth_blp.alt_response(401, description="The email or password is not right")
    @auth_blp.alt_response(429, description="Too many sign-in attempts")
    def post(self, data):
        """Sign in on this device: an access token (15 minutes) and a refresh token."""
        return accounts.sign_in(router=router(), **data)


@auth_blp.route("/tokens/refresh")
class Refresh(MethodView):
    @auth_blp.arguments(RefreshSchema())
    @auth_blp.response(200, TokenPairSchema)
    @auth_blp.alt_response(401, description="Not valid, expired, or spent before (the device is signed out)")
    def post(self, data):
        """Spend the refresh token for a new pair; presenting a spent one signs the device out."""
        return tokens.refresh(router=router(), **data)


@auth_blp.route("/password-reset")
class PasswordReset(MethodView):
    @auth_blp.arguments(ResetRequestSchema())
    @auth_blp.response(202)
    @auth_blp.alt_response(429, description="Too many reset links asked for")
    def post(self, data):
        """Mail a link to choose a new password (the same answer whether or not the email has an account)."""
        public = platform().settings.public_url or request.host_url.rstrip("/")  # links: never a client's Host in production
        accounts.request_password_reset(router=router(), mail=platform().mail, email=data["email"],
                                        link_base=public + RESET_PATH)


@auth_blp.route("/password-reset/complete")
class PasswordResetComplete(MethodView):
    @auth_blp.arguments(ResetSchema())
    @auth_blp.response(204)
    def post(self, data):
        """Choose a new password with the mailed link's token; every device is signed out."""
        accounts.reset_password(router=router(), **data)


@blp.route("/profile")
class Profile(MethodView):
    @blp.response(200, BuyerSchema)
    def get(self):
        """Your profile."""
        return accounts.get_profile(router=router(), principal=require_buyer())

    @blp.arguments(BuyerSchema())
    @blp.response(200, BuyerSchema)
    def patch(self, changes):
        """Change your name, language or display currency."""
        return accounts.update_profile(router=router(), principal=require_buyer(), changes=changes)


@blp.route("/session")
class Session(MethodView):
    @blp.response(204)
    def delete(self):
        """Sign out on this device: its access and refresh tokens stop working."""
        tokens.end(router=router(), principal=require_buyer())


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.response(204)
    def delete(self):
        """Sign out everywhere: every device's tokens stop working."""
        tokens.end_all(router=router(), principal=require_buyer())


@blp.route("/addresses")
class Addresses(MethodView):
    @blp.response(200, AddressSchema(many=True))
    def get(self):
        """Your addresses."""
        buyer = require_buyer()
        return addresses.list_(router=router(), region=buyer.region, owner_id=buyer.buyer_id)

    @blp.arguments(AddressSchema())
    @blp.response(201, AddressSchema)
    def post(self, data):
        """Add an address."""
        buyer = require_buyer()
        return addresses.add(router=router(), region=buyer.region, owner_id=buyer.buyer_id, data=data)


@blp.route("/addresses/<address_id>")
class AddressById(MethodView):
    @blp.response(200, AddressSchema)
    def get(self, address_id):
        """One of your addresses."""
        buyer = require_buyer()
        return addresses.get(router=router(), region=buyer.region, owner_id=buyer.buyer_id, address_id=address_id)

    @blp.response(204)
    def delete(self, address_id):
        """Remove one of your addresses."""
        buyer = require_buyer()
        addresses.delete(router=router(), region=buyer.region, owner_id=buyer.buyer_id, address_id=address_id)


@blp.route("/company")
class Company(MethodView):
    @blp.response(200, CompanySchema)
    @blp.alt_response(404, description="You act for no company")
    def get(self):
        """The company you act for."""
        return companies.get(router=router(), principal=require_buyer())


@blp.route("/company/users")
class CompanyUsers(MethodView):
    @blp.response(200, CompanyUserSchema(many=True))
    def get(self):
        """Your company's users and their roles (approvers and admins)."""
        return companies.list_users(router=router(), principal=require_buyer())

    @blp.arguments(CompanyUserSchema())
    @blp.response(201, CompanyUserSchema)
    @blp.alt_response(409, description="The email is already registered")
    def post(self, data):
        """Add a user to your company (admins); they sign in with this email and password."""
        return companies.add_user(router=router(), principal=require_buyer(), email=data["email"], password=data["password"],
                                  name=data["name"], role=data["company_role"])


@blp.route("/company/users/<user_id>")
class CompanyUserById(MethodView):
    @blp.arguments(RoleSchema())
    @blp.response(200, CompanyUserSchema)
    @blp.alt_response(409, description="The company's last admin")
    def patch(self, data, user_id):
        """Give a user another role (admins)."""
        return companies.change_role(router=router(), principal=require_buyer(), user_id=user_id, role=data["role"])

    @blp.response(204)
    @blp.alt_response(409, description="The company's last admin")
    def delete(self, user_id):
        """Take a user out of your company (admins); they keep their own buyer account."""
        companies.remove_user(router=router(), principal=require_buyer(), user_id=user_id)


@blp.route("/company/addresses")
class CompanyAddresses(MethodView):
    @blp.response(200, AddressSchema(many=True))
    def get(self):
        """Your company's addresses."""
        return companies.list_addresses(router=router(), principal=require_buyer())

    @blp.arguments(AddressSchema())
    @blp.response(201, AddressSchema)
    def post(self, data):
        """Add a company address (admins)."""
        return companies.add_address(router=router(), principal=require_buyer(), data=data)


@blp.route("/company/addresses/<address_id>")
class CompanyAddressById(MethodView):
    @blp.response(204)
    def delete(self, address_id):
        """Remove a company address (admins)."""
        companies.delete_address(router=router(), principal=require_buyer(), address_id=address_id)
