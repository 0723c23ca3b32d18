"""Server-rendered storefronts and the merchant dashboard."""

from flask import Blueprint

blp = Blueprint("storefront", __name__, template_folder="templates", static_folder="static", static_url_path="/static/storefront")
