"""The buyer search API (mobile apps): search with facets, and suggestions while typing."""

from flask.views import MethodView
from flask_smorest import Blueprint

from marketplace.platform import platform
from search import service
from search.schemas import SearchArgsSchema, SearchResultSchema, SuggestArgsSchema, SuggestionsSchema

blp = Blueprint("search", __name__, url_prefix="/api/v1/search", description="Search every merchant's public catalog")


@blp.route("")
class Search(MethodView):
    @blp.arguments(SearchArgsSchema, location="query")
    @blp.response(200, SearchResultSchema)
    def get(self, args):
        """Search products: free text, filters, facets, sorts; prices in the buyer's currency."""
        return service.search(engine=platform().search, args=args)


@blp.route("/suggest")
class Suggest(MethodView):
    @blp.arguments(SuggestArgsSchema, location="query")
    @blp.response(200, SuggestionsSchema)
    def get(self, args):
        """Completions for what the buyer is typing."""
        return {"suggestions": service.suggest(engine=platform().search, prefix=args["q"], language=args["lang"], limit=args["limit"])}
