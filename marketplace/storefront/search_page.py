"""The storefront search page: the same search as the buyer API, with facets as links, so it
works without JavaScript. Selecting a facet value adds it to the address; selecting it again
removes it."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request, url_for
from marshmallow import ValidationError

from marketplace.catalog import taxonomy
from marketplace.errors import InvalidInput
from marketplace.platform import platform
from marketplace.storefront import form_text, i18n
from search import service
from search.schemas import SearchArgsSchema

blp = Blueprint("search_page", __name__)
MULTI = ("origin", "region", "merchant")


@blp.get("/search")
def search():
    """Search every storefront."""
    g.lang = i18n.page_language()
    refused = form_text.query_problems()
    if refused:
        detail = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in refused.items())
        raise InvalidInput(f"The search has text that is not valid ({detail})", errors=refused)
    raw = {k: (request.args.getlist(k) if k in MULTI else v) for k, v in request.args.items()}
    raw.setdefault("lang", g.lang)
    try:
        args = SearchArgsSchema().load(raw)
    except ValidationError as exc:
        raise InvalidInput("The search has invalid fields.", errors={k: [str(m) for m in v] for k, v in exc.messages.items()}) from exc
    result = service.search(engine=platform().search, args=args)
    return render_template(
        "storefront/search.html", args=args, result=result, facet_link=facet_link, selected=selected,
        category_name=lambda slug: taxonomy.categories()[slug].name(g.lang) if slug in taxonomy.categories() else slug,
        page_link=page_link,
    )


def selected(name: str, value: str) -> bool:
    if name in MULTI:
        return value in request.args.getlist(name)
    return request.args.get(name) == value


def facet_link(name: str, value: str) -> str:
    """This search with `value` of facet `name` toggled, back on page 1."""
    arguments = request.args.to_dict(flat=False)
    arguments.pop("page", None)
    current = arguments.get(name, [])
    if name in MULTI:
        arguments[name] = [v for v in current if v != value] if value in current else [*current, value]
    else:
        arguments[name] = [] if current == [value] else [value]
    return url_for("storefront.search_page.search", **{k: v for k, v in arguments.items() if v})


def page_link(page: int) -> str:
    arguments = request.args.to_dict(flat=False)
    arguments["page"] = [str(page)]
    return url_for("storefront.search_page.search", **arguments)
