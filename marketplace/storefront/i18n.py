"""The visitor's language on storefront pages, and the few words of the storefront's own.

A storefront shows a merchant's texts in the visitor's language when the merchant wrote one:
`?lang=` first, then the browser's Accept-Language, then the merchant's default language,
then whatever the merchant did write. The storefront's own words (headings, labels) follow
the same choice, from the small catalogue below; the merchant dashboard is in English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import request

LANGUAGES = ("en", "es", "fr", "nl")
LANGUAGE_NAMES = {"en": "English", "es": "Español", "fr": "Français", "nl": "Nederlands"}


def visitor_languages() -> list[str]:
    """The languages this visitor asked for, best first, among those the marketplace has."""
    wanted: list[str] = []
    asked = request.args.get("lang", "").strip().lower()
    if asked in LANGUAGES:
        wanted.append(asked)
    for value, quality in request.accept_languages:  # werkzeug sorts them by quality
        primary = value.split("-")[0].lower()
        if quality > 0 and primary in LANGUAGES and primary not in wanted:
            wanted.append(primary)
    return wanted


def page_language(default: str | None = None) -> str:
    """The language of the page's own words: the visitor's first choice, else the merchant's."""
    for language in (*visitor_languages(), default, "en"):
        if language in LANGUAGES:
            return language
    return "en"


def pick_text(texts: Mapping[str, str], *, merchant_default: str | None) -> tuple[str | None, str]:
    """(language, text) of the best of a merchant's texts for this visitor; (None, "") if none."""
    for language in _preference(texts, merchant_default):
        text = texts.get(language) or ""
        if text.strip():
            return language, text
    return None, ""


def _preference(texts: Mapping[str, str], merchant_default: str | None) -> Iterable[str]:
    yield from visitor_languages()
    if merchant_default:
        yield merchant_default
    yield from LANGUAGES
    yield from sorted(texts)


def translate(language: str, key: str, **values: object) -> str:
    """The storefront's word `key` in `language` (English when the catalogue lacks it)."""
    template = WORDS.get(key, {}).get(language) or WORDS.get(key, {}).get("en") or key
    return template.format(**values) if values else template


WORDS: dict[str, dict[str, str]] = {
    "skip": {"en": "Skip to content", "es": "Saltar al contenido", "fr": "Aller au contenu", "nl": "Naar de inhoud"},
    "marketplace": {"en": "CPU Marketplace", "es": "Mercado CPU", "fr": "Marché CPU", "nl": "CPU-marktplaats"},
    "language": {"en": "Language", "es": "Idioma", "fr": "Langue", "nl": "Taal"},
    "storefronts": {"en": "Storefronts", "es": "Tiendas", "fr": "Boutiques", "nl": "Winkels"},
    "search": {"en": "Search", "es": "Buscar", "fr": "Rechercher", "nl": "Zoeken"},
    "search_label": {"en": "What are you looking for?", "es": "¿Qué busca?", "fr": "Que cherchez-vous ?", "nl": "Wat zoekt u?"},
    "search_results_for": {"en": "Search: {query}", "es": "Búsqueda: {query}", "fr": "Recherche : {query}", "nl": "Zoeken: {query}"},
    "search_count": {"en": "{count} products found", "es": "{count} productos encontrados", "fr": "{count} produits trouvés",
                     "nl": "{count} producten gevonden"},
    "refine": {"en": "Refine", "es": "Filtrar", "fr": "Affiner", "nl": "Verfijnen"},
    "results": {"en": "Results", "es": "Resultados", "fr": "Résultats", "nl": "Resultaten"},
    "facet_category": {"en": "Category", "es": "Categoría", "fr": "Catégorie", "nl": "Categorie"},
    "facet_origin_country": {"en": "Origin", "es": "Origen", "fr": "Origine", "nl": "Herkomst"},
    "facet_merchant": {"en": "Merchant", "es": "Comerciante", "fr": "Marchand", "nl": "Handelaar"},
    "facet_price": {"en": "Price", "es": "Precio", "fr": "Prix", "nl": "Prijs"},
    "pages": {"en": "Pages", "es": "Páginas", "fr": "Pages", "nl": "Pagina's"},
    "previous": {"en": "Previous", "es": "Anterior", "fr": "Précédent", "nl": "Vorige"},
    "next": {"en": "Next", "es": "Siguiente", "fr": "Suivant", "nl": "Volgende"},
    "corrected": {"en": "Including results for: {words}", "es": "Incluye resultados para: {words}",
                  "fr": "Résultats incluant : {words}", "nl": "Inclusief resultaten voor: {words}"},
    "no_results": {"en": "Nothing found. Try other words or fewer filters.", "es": "No se encontró nada. Pruebe otras palabras o menos filtros.",
                   "fr": "Rien trouvé. Essayez d'autres mots ou moins de filtres.", "nl": "Niets gevonden. Probeer andere woorden of minder filters."},
    "home_intro": {
        "en": "Wholesale and retail from merchants in the member states of the Caribbean Postal Union.",
        "es": "Venta al por mayor y al por menor de comerciantes de los estados miembros de la Unión Postal del Caribe.",
        "fr": "Vente en gros et au détail par des marchands des États membres de l'Union postale des Caraïbes.",
        "nl": "Groothandel en detailhandel van handelaren in de lidstaten van de Caribische Postunie.",
    },
    "no_storefronts": {"en": "No storefronts yet.", "es": "Todavía no hay tiendas.", "fr": "Pas encore de boutiques.",
                       "nl": "Nog geen winkels."},
    "unreachable": {
        "en": "Some storefronts are missing for now: the {names} data center could not be reached.",
        "es": "Faltan algunas tiendas por ahora: no se pudo contactar con el centro de datos {names}.",
        "fr": "Certaines boutiques manquent pour l'instant : le centre de données {names} est injoignable.",
        "nl": "Sommige winkels ontbreken nu: het datacenter {names} was niet bereikbaar.",
    },
    "sell_here": {"en": "Sell here: open a storefront", "es": "Venda aquí: abra una tienda",
                  "fr": "Vendez ici : ouvrez une boutique", "nl": "Verkoop hier: open een winkel"},
    "categories": {"en": "Categories", "es": "Categorías", "fr": "Catégories", "nl": "Categorieën"},
    "products": {"en": "Products", "es": "Productos", "fr": "Produits", "nl": "Producten"},
    "no_products": {"en": "No products here yet.", "es": "Todavía no hay productos aquí.",
                    "fr": "Pas encore de produits ici.", "nl": "Hier zijn nog geen producten."},
    "from_price": {"en": "from {price}", "es": "desde {price}", "fr": "à partir de {price}", "nl": "vanaf {price}"},
    "breadcrumb": {"en": "Breadcrumb", "es": "Ruta de navegación", "fr": "Fil d'Ariane", "nl": "Kruimelpad"},
    "all_products": {"en": "All products", "es": "Todos los productos", "fr": "Tous les produits", "nl": "Alle producten"},
    "order": {"en": "Price and quantity", "es": "Precio y cantidad", "fr": "Prix et quantité", "nl": "Prijs en aantal"},
    "variant": {"en": "Variant", "es": "Variante", "fr": "Variante", "nl": "Variant"},
    "quantity": {"en": "Quantity", "es": "Cantidad", "fr": "Quantité", "nl": "Aantal"},
    "show_price": {"en": "Show price", "es": "Ver precio", "fr": "Voir le prix", "nl": "Toon prijs"},
    "quote": {
        "en": "{quantity} × {unit} = {total}", "es": "{quantity} × {unit} = {total}",
        "fr": "{quantity} × {unit} = {total}", "nl": "{quantity} × {unit} = {total}",
    },
    "rule_base": {"en": "base price", "es": "precio base", "fr": "prix de base", "nl": "basisprijs"},
    "rule_tier": {"en": "volume price from {quantity} units", "es": "precio por volumen desde {quantity} unidades",
                  "fr": "prix de volume dès {quantity} unités", "nl": "staffelprijs vanaf {quantity} stuks"},
    "bad_quantity": {"en": "Enter a whole number of at least 1.", "es": "Indique un número entero de al menos 1.",
                     "fr": "Indiquez un nombre entier d'au moins 1.", "nl": "Vul een geheel getal van minstens 1 in."},
    "below_moq": {
        "en": "The minimum order for this item is {moq} units.",
        "es": "El pedido mínimo de este artículo es de {moq} unidades.",
        "fr": "La commande minimum pour cet article est de {moq} unités.",
        "nl": "De minimale bestelling voor dit artikel is {moq} stuks.",
    },
    "not_case_pack": {
        "en": "This item is sold in cases of {case_pack}: order a multiple of {case_pack}, such as {suggestion}.",
        "es": "Este artículo se vende en cajas de {case_pack}: pida un múltiplo de {case_pack}, por ejemplo {suggestion}.",
        "fr": "Cet article est vendu par cartons de {case_pack} : commandez un multiple de {case_pack}, par exemple {suggestion}.",
        "nl": "Dit artikel wordt verkocht per doos van {case_pack}: bestel een veelvoud van {case_pack}, bijvoorbeeld {suggestion}.",
    },
    "moq_words": {
        "en": "Minimum order: {moq} units.", "es": "Pedido mínimo: {moq} unidades.",
        "fr": "Commande minimum : {moq} unités.", "nl": "Minimale bestelling: {moq} stuks.",
    },
    "moq_one": {"en": "No minimum order.", "es": "Sin pedido mínimo.", "fr": "Pas de minimum de commande.",
                "nl": "Geen minimale bestelling."},
    "case_words": {
        "en": "Sold in cases of {case_pack} units: order {examples} and so on.",
        "es": "Se vende en cajas de {case_pack} unidades: pida {examples}, etc.",
        "fr": "Vendu par cartons de {case_pack} unités : commandez {examples}, etc.",
        "nl": "Verkocht per doos van {case_pack} stuks: bestel {examples} enzovoort.",
    },
    "case_one": {"en": "Sold by the unit.", "es": "Se vende por unidad.", "fr": "Vendu à l'unité.", "nl": "Per stuk verkocht."},
    "tier_table": {"en": "Volume prices", "es": "Precios por volumen", "fr": "Prix de volume", "nl": "Staffelprijzen"},
    "tier_caption": {"en": "Unit price by quantity: {variant}", "es": "Precio unitario según cantidad: {variant}",
                     "fr": "Prix unitaire selon la quantité : {variant}", "nl": "Stukprijs per aantal: {variant}"},
    "quantity_from": {"en": "Quantity from", "es": "Cantidad desde", "fr": "Quantité à partir de", "nl": "Aantal vanaf"},
    "unit_price": {"en": "Unit price", "es": "Precio unitario", "fr": "Prix unitaire", "nl": "Stukprijs"},
    "variants": {"en": "Variants", "es": "Variantes", "fr": "Variantes", "nl": "Varianten"},
    "sku": {"en": "SKU", "es": "SKU", "fr": "Réf.", "nl": "SKU"},
    "availability": {"en": "Availability", "es": "Disponibilidad", "fr": "Disponibilité", "nl": "Beschikbaarheid"},
    "in_stock": {"en": "In stock", "es": "Disponible", "fr": "En stock", "nl": "Op voorraad"},
    "out_of_stock": {"en": "Out of stock", "es": "Agotado", "fr": "En rupture", "nl": "Uitverkocht"},
    "min_order": {"en": "Minimum order", "es": "Pedido mínimo", "fr": "Minimum de commande", "nl": "Minimale bestelling"},
    "case_pack": {"en": "Case pack", "es": "Unidades por caja", "fr": "Unités par carton", "nl": "Stuks per doos"},
    "ships_except": {"en": "Does not ship to: {countries}.", "es": "No se envía a: {countries}.",
                     "fr": "Pas de livraison vers : {countries}.", "nl": "Wordt niet verzonden naar: {countries}."},
    "by_merchant": {"en": "Sold by {merchant}", "es": "Vendido por {merchant}", "fr": "Vendu par {merchant}",
                    "nl": "Verkocht door {merchant}"},
    "description": {"en": "Description", "es": "Descripción", "fr": "Description", "nl": "Beschrijving"},
    "merchant_dashboard": {"en": "Merchant dashboard", "es": "Panel del comerciante", "fr": "Espace marchand",
                           "nl": "Handelaarsdashboard"},
}
