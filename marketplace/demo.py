"""Demo data for the embedded default: 30 merchants in every region, about 2,000 variants.

Everything is generated from the tables below with seeded random number generators, so the
same data comes out on every machine and every run. Loading is idempotent: a merchant is
found by its storefront handle before it is signed up, products are upserted by their ref
through the catalog's own `write_product` (an unchanged product is not touched and announces
nothing), and a price list is created only when the merchant has none of that name.

Every demo account's password is DEMO_PASSWORD: demo data is refused in production.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import zip_longest

import click
from sqlalchemy import select

from marketplace.buyers import accounts as buyer_accounts
from marketplace.catalog import service as catalog
from marketplace.catalog.models import Product
from marketplace.errors import Conflict, InvalidInput, RegionUnavailable
from marketplace.merchants import accounts
from marketplace.merchants.auth import Principal
from marketplace.merchants.errors import MerchantNotFound
from marketplace.merchants.models import Merchant
from marketplace.money import minor_units
from marketplace.regions.router import Router

DEMO_PASSWORD = "caribbean-demo-only"  # demo-only; printed by `cpu demo`, refused in production
SHOWCASE = "blue-mountain-coffee"  # the merchant whose sign-in details `cpu demo` prints
VARIANTS_PER_MERCHANT = (58, 74)  # each merchant's target, drawn from its own generator
MAX_PRODUCTS = 20

# Units of each currency per US dollar (approximate); demo prices are set in US cents.
RATES = {
    "AWG": 1.79, "BBD": 2.0, "BSD": 1.0, "BZD": 2.0, "CUP": 120.0, "DOP": 61.0, "EUR": 0.92, "GYD": 209.0,
    "HTG": 131.0, "JMD": 157.0, "KYD": 0.83, "SRD": 36.5, "TTD": 6.78, "USD": 1.0, "XCD": 2.7, "XCG": 1.79,
}
# Where some goods may not go: alcohol is banned there, or raw plant material needs permits.
NO_ALCOHOL = ("BN", "IR", "KW", "LY", "SA")
BIOSECURITY = ("AU", "NZ")

# Goods ----------------------------------------------------------------------------------------

# Tier schedules: (from quantity, percent off the base price).
RETAIL = ((12, 8), (144, 18))
CASES = ((144, 6), (576, 12))
BULK = ((10, 5), (40, 12))
CRAFT = ((6, 5), (24, 12))


@dataclass(frozen=True)
class Size:
    code: str  # part of the SKU
    options: dict[str, str]
    usd: int  # unit price in US cents, before the variety's and the merchant's factors
    weight_g: int
    dims: tuple[int, int, int]  # length, width, height in mm
    tiers: tuple[tuple[int, int], ...] = RETAIL
    case_pack: int = 1
    moq: int = 1
    stock: int = 120  # typical units on hand at the main location


def each(code, label, usd, weight_g, dims, *, option="size", tiers=RETAIL, moq=1, stock=120) -> Size:
    return Size(code, {option: label}, usd, weight_g, dims, tiers, 1, moq, stock)


def case(code, label, per, usd, weight_g, dims, *, moq, tiers=CASES, stock=600) -> Size:
    """Sold by the unit, in whole cases only: the wholesale terms of a retail item."""
    options = {"size": label, "pack": f"case of {per}"} if label else {"pack": f"case of {per}"}
    return Size(code, options, usd, weight_g, dims, tiers, per, moq, stock)


@dataclass(frozen=True)
class Variety:
    code: str
    names: dict[str, str]  # language -> the words that fill the family's title pattern
    hs: str | None = None  # when it differs from the family's
    price: float = 1.0
    weight: float = 1.0  # of the family's sizes
    sizes: tuple[Size, ...] | None = None
    axis: tuple | None | bool = None  # None: the family's; False: none
    b2b: bool = False
    excluded: tuple[str, ...] = ()
    description: dict[str, str] | None = None


def v(code, en, es, fr, nl, **details) -> Variety:
    return Variety(code, {"en": en, "es": es, "fr": fr, "nl": nl}, **details)


def text(en, es, fr, nl) -> dict[str, str]:
    return {"en": en, "es": es, "fr": fr, "nl": nl}


@dataclass(frozen=True)
class Family:
    code: str
    category: str
    hs: str
    description: dict[str, str]
    sizes: tuple[Size, ...]
    varieties: tuple[Variety, ...]
    title: dict[str, str] = field(default_factory=lambda: dict.fromkeys(("en", "es", "fr", "nl"), "{v} — {place}"))
    axis: tuple | None = None  # (option name, ((code, value), ...)): every size comes in each
    excluded: tuple[str, ...] = ()

    def variety(self, code: str) -> Variety:
        return next(v for v in self.varieties if v.code == code)


GREEN_COFFEE = text(
    "Washed green arabica from the current crop, hand-sorted and graded, for roasters. Moisture 10–12%; a 200 g sample is available on request. Ships with a phytosanitary certificate.",
    "Arábica verde lavado de la cosecha actual, seleccionado a mano y clasificado, para tostadores. Humedad del 10 al 12 %; muestra de 200 g disponible a petición. Se envía con certificado fitosanitario.",
    "Arabica vert lavé de la dernière récolte, trié à la main et calibré, pour les torréfacteurs. Humidité de 10 à 12 % ; échantillon de 200 g sur demande. Expédié avec un certificat phytosanitaire.",
    "Gewassen groene arabica van de huidige oogst, met de hand gesorteerd en geklasseerd, voor branders. Vochtgehalte 10–12%; een monster van 200 g is op aanvraag beschikbaar. Wordt verzonden met een fytosanitair certificaat.",
)
BONBONS = text(
    "Hand-made bonbons filled with a ganache of local rum and passion fruit, enrobed in dark chocolate. Best within six weeks; keep between 15 and 18 °C.",
    "Bombones hechos a mano, rellenos de una ganache de ron local y maracuyá y bañados en chocolate negro. Consumir preferentemente en seis semanas; conservar entre 15 y 18 °C.",
    "Bonbons faits main, garnis d'une ganache au rhum local et au fruit de la passion, enrobés de chocolat noir. À déguster de préférence dans les six semaines ; conserver entre 15 et 18 °C.",
    "Handgemaakte bonbons gevuld met een ganache van lokale rum en passievrucht, omhuld met pure chocolade. Het lekkerst binnen zes weken; bewaren tussen 15 en 18 °C.",
)

GREEN_SIZES = (
    each("1KG", "1 kg", 2400, 1030, (280, 150, 90)),
    each("5KG", "5 kg sack", 10500, 5100, (600, 400, 150), tiers=BULK, moq=2, stock=40),
    each("30KG", "30 kg jute sack", 57000, 30300, (900, 550, 250), tiers=((10, 5), (40, 10)), moq=2, stock=20),
)
BONBON_SIZES = (
    each("9", "box of 9", 1400, 140, (120, 120, 30)),
    each("16", "box of 16", 2300, 240, (160, 160, 30)),
    case("16C12", "box of 16", 12, 1900, 240, (160, 160, 30), moq=12),
)
BEAN_SIZES = (
    each("1KG", "1 kg", 1200, 1030, (260, 160, 90)),
    each("5KG", "5 kg bag", 5200, 5100, (450, 300, 150), tiers=BULK, moq=2, stock=40),
    each("25KG", "25 kg sack", 23000, 25200, (800, 500, 200), tiers=((20, 5), (80, 10)), moq=4, stock=30),
)
JAR_SIZES = (
    each("125G", "125 g jar", 420, 230, (60, 60, 70)),
    each("250G", "250 g jar", 700, 420, (70, 70, 95)),
    case("250G12", "250 g jar", 12, 550, 420, (70, 70, 95), moq=24),
    each("1KG", "1 kg catering tub", 2100, 1120, (130, 130, 120), tiers=((12, 8), (48, 15)), stock=40),
)
SOAP_SIZES = (
    each("BAR", "120 g bar", 700, 135, (90, 60, 35)),
    each("GIFT3", "gift box of 3 bars", 1900, 450, (200, 100, 45)),
    case("BAR24", "120 g bar", 24, 500, 135, (90, 60, 35), moq=48),
)
OIL_SIZES = (
    each("10ML", "10 ml", 1400, 60, (30, 30, 80)),
    each("30ML", "30 ml", 3400, 120, (40, 40, 100)),
    each("100ML", "100 ml", 9500, 260, (50, 50, 130), tiers=((12, 10), (48, 18)), stock=30),
)
SIZES_SML = (
    each("S", "small", 2400, 450, (200, 200, 80), tiers=CRAFT, stock=25),
    each("M", "medium", 4200, 900, (300, 300, 100), tiers=CRAFT, stock=18),
    each("L", "large", 6800, 1600, (400, 400, 120), tiers=CRAFT, stock=10),
)
# Gift shops buy crafts by the case.
CRAFT_SIZES = (*SIZES_SML, case("M6", "medium", 6, 3400, 900, (300, 300, 100), moq=6, tiers=((24, 5), (60, 10)), stock=36))
MADRAS_COLOURS = ("colour", (("RJ", "red and yellow"), ("OV", "orange and green"), ("BB", "blue and white")))

FAMILIES = {f.code: f for f in (
    Family(
        "COF", "food/coffee", "090121",
        title={"en": "{place} coffee, {v}", "es": "Café {place}, {v}", "fr": "Café {place}, {v}", "nl": "{place}-koffie, {v}"},
        description=text(
            "Arabica grown on steep mountain slopes, hand-picked when ripe, washed and sun-dried, then roasted in small batches a few days before dispatch. Packed in valve bags that keep the aroma in.",
            "Arábica cultivado en empinadas laderas de montaña, cosechado a mano en su punto, lavado y secado al sol, y tostado en pequeños lotes pocos días antes del envío. Envasado en bolsas con válvula que conservan el aroma.",
            "Arabica cultivé sur des pentes escarpées, cueilli à la main à maturité, lavé et séché au soleil, puis torréfié en petites quantités quelques jours avant l'expédition. Conditionné en sachets à valve qui préservent l'arôme.",
            "Arabica van steile berghellingen, rijp met de hand geplukt, gewassen en in de zon gedroogd, en enkele dagen voor verzending in kleine partijen gebrand. Verpakt in ventielzakken die het aroma vasthouden.",
        ),
        sizes=(
            each("250G", "250 g", 1300, 280, (190, 110, 70)),
            each("1KG", "1 kg", 4400, 1060, (300, 160, 100)),
            each("5KG", "5 kg sack", 19500, 5200, (600, 400, 150), tiers=BULK, moq=2, stock=30),
        ),
        axis=("grind", (("WB", "whole bean"), ("GR", "ground"))),
        varieties=(
            v("MED", "medium roast", "tueste medio", "torréfaction moyenne", "medium branding"),
            v("DARK", "dark roast", "tueste oscuro", "torréfaction foncée", "donkere branding"),
            v("LIGHT", "light roast", "tueste claro", "torréfaction claire", "lichte branding"),
            v("PEA", "peaberry", "caracolillo", "caracoli", "peaberry", price=1.25),
            v("ESP", "espresso blend", "mezcla para espresso", "mélange espresso", "espressomelange", price=0.9),
            v("DEC", "decaffeinated", "descafeinado", "décaféiné", "cafeïnevrij", hs="090122", price=1.1),
            v("GREEN", "green beans for roasting", "granos verdes para tostar", "grains verts à torréfier", "groene bonen om zelf te branden",
              hs="090111", sizes=GREEN_SIZES, axis=False, b2b=True, excluded=BIOSECURITY, description=GREEN_COFFEE),
        ),
    ),
    Family(
        "CHO", "food/cocoa-chocolate", "180632",
        description=text(
            "Tree-to-bar chocolate from fine-flavour Trinitario cocoa, fermented and dried on the estate, then roasted, stone-ground and tempered in small batches. No palm oil, no vanillin, no emulsifiers.",
            "Chocolate del árbol a la tableta elaborado con cacao fino de aroma Trinitario, fermentado y secado en la finca, y luego tostado, molido en piedra y templado en pequeños lotes. Sin aceite de palma, vainillina ni emulsionantes.",
            "Chocolat de l'arbre à la tablette, à partir de cacao fin Trinitario fermenté et séché sur la plantation, puis torréfié, broyé à la meule et tempéré en petites séries. Sans huile de palme, vanilline ni émulsifiants.",
            "Chocolade van boom tot reep, van fijne Trinitario-cacao die op de plantage is gefermenteerd en gedroogd, daarna in kleine partijen geroosterd, op steen gemalen en getempereerd. Zonder palmolie, vanilline of emulgatoren.",
        ),
        sizes=(
            each("50G", "50 g bar", 450, 60, (150, 70, 8)),
            each("100G", "100 g bar", 750, 115, (170, 80, 10)),
            case("50G24", "50 g bar", 24, 360, 60, (150, 70, 8), moq=48),
            case("100G12", "100 g bar", 12, 620, 115, (170, 80, 10), moq=24),
        ),
        varieties=(
            v("D70", "Dark chocolate 70%", "Chocolate negro 70 %", "Chocolat noir 70 %", "Pure chocolade 70%"),
            v("D85", "Dark chocolate 85%", "Chocolate negro 85 %", "Chocolat noir 85 %", "Pure chocolade 85%", price=1.05),
            v("MILK", "Milk chocolate 45%", "Chocolate con leche 45 %", "Chocolat au lait 45 %", "Melkchocolade 45%", price=0.95),
            v("SALT", "Dark chocolate 60% with sea salt", "Chocolate negro 60 % con sal marina", "Chocolat noir 60 % au sel de mer", "Pure chocolade 60% met zeezout"),
            v("NUT", "Dark chocolate 65% with nutmeg", "Chocolate negro 65 % con nuez moscada", "Chocolat noir 65 % à la muscade", "Pure chocolade 65% met nootmuskaat", price=1.05),
            v("NIBS", "Dark chocolate 70% with cocoa nibs", "Chocolate negro 70 % con nibs de cacao", "Chocolat noir 70 % aux éclats de fèves", "Pure chocolade 70% met cacaonibs", price=1.05),
            v("COFFEE", "Dark chocolate 65% with coffee", "Chocolate negro 65 % con café", "Chocolat noir 65 % au café", "Pure chocolade 65% met koffie", price=1.05),
            v("BONBON", "Rum and passion fruit bonbons", "Bombones de ron y maracuyá", "Bonbons rhum et fruit de la passion", "Bonbons met rum en passievrucht",
              hs="180690", sizes=BONBON_SIZES, description=BONBONS),
        ),
    ),
    Family(
        "CAC", "food/cocoa-chocolate", "180500",
        description=text(
            "Fine-flavour cocoa from smallholder farms, fermented for six days in wooden boxes and dried in the sun under sliding roofs. Traceable to the farm: every pack carries its lot number.",
            "Cacao fino de aroma de pequeños productores, fermentado seis días en cajones de madera y secado al sol bajo techos corredizos. Trazable hasta la finca: cada paquete lleva su número de lote.",
            "Cacao fin de petits producteurs, fermenté six jours en caisses de bois et séché au soleil sous des toits coulissants. Traçable jusqu'à la plantation : chaque paquet porte son numéro de lot.",
            "Fijne cacao van kleine boeren, zes dagen gefermenteerd in houten kisten en in de zon gedroogd onder schuifdaken. Herleidbaar tot de boerderij: elk pak draagt zijn lotnummer.",
        ),
        sizes=(
            each("250G", "250 g", 800, 270, (160, 100, 60)),
            each("500G", "500 g", 1450, 520, (200, 120, 70)),
            each("1KG", "1 kg", 2600, 1040, (260, 160, 90)),
            each("5KG", "5 kg bag", 11500, 5100, (450, 300, 150), tiers=BULK, moq=2, stock=40),
        ),
        varieties=(
            v("TEA", "Cocoa balls for cocoa tea (pure cocoa paste)", "Bolas de cacao para chocolate caliente (pasta de cacao pura)",
              "Boules de cacao pour chocolat chaud (pâte de cacao pure)", "Cacaoballetjes voor warme chocolade (pure cacaomassa)", hs="180310"),
            v("POW", "Unsweetened cocoa powder", "Cacao en polvo sin azúcar", "Cacao en poudre non sucré", "Ongezoete cacaopoeder"),
            v("NIBS", "Roasted cocoa nibs", "Nibs de cacao tostados", "Éclats de fèves de cacao torréfiées", "Geroosterde cacaonibs", hs="180100", price=1.2),
            v("BUTTER", "Raw cocoa butter", "Manteca de cacao cruda", "Beurre de cacao cru", "Rauwe cacaoboter", hs="180400", price=1.6),
            v("DRINK", "Drinking chocolate with spices", "Chocolate para beber con especias", "Chocolat à boire aux épices", "Drinkchocolade met specerijen", hs="180690"),
            v("BEANS", "Fermented cocoa beans", "Granos de cacao fermentados", "Fèves de cacao fermentées", "Gefermenteerde cacaobonen",
              hs="180100", sizes=BEAN_SIZES, b2b=True, excluded=BIOSECURITY),
        ),
    ),
    Family(
        "RUM", "beverages/rum", "220840",
        description=text(
            "Distilled from molasses in copper pot and column stills, reduced with spring water and, where an age is stated, matured in ex-bourbon oak casks. Sold only to buyers of legal drinking age; please drink responsibly.",
            "Destilado de melaza en alambiques de cobre y de columna, rebajado con agua de manantial y, cuando se indica una edad, envejecido en barricas de roble que contuvieron bourbon. Venta solo a mayores de edad; beba con moderación.",
            "Distillé à partir de mélasse en alambics de cuivre et en colonne, réduit à l'eau de source et, lorsqu'un âge est indiqué, vieilli en fûts de chêne ayant contenu du bourbon. Vente interdite aux mineurs ; à consommer avec modération.",
            "Gestookt uit melasse in koperen pot- en kolomketels, op sterkte gebracht met bronwater en, als een leeftijd is vermeld, gerijpt in eikenhouten bourbonvaten. Alleen verkocht aan kopers van de wettelijke leeftijd; geniet met mate.",
        ),
        sizes=(
            each("20CL", "20 cl", 950, 420, (65, 40, 165)),
            each("70CL", "70 cl", 2800, 1300, (90, 90, 300)),
            case("70CL6", "70 cl", 6, 2500, 1300, (90, 90, 300), moq=6, tiers=((60, 5), (240, 10)), stock=240),
            case("70CL12", "70 cl", 12, 2350, 1300, (90, 90, 300), moq=24),
        ),
        excluded=NO_ALCOHOL,
        varieties=(
            v("WHITE", "White rum 40%", "Ron blanco 40 %", "Rhum blanc 40 %", "Witte rum 40%", price=0.7),
            v("OVP", "White overproof rum 63%", "Ron blanco extrafuerte 63 %", "Rhum blanc très fort 63 %", "Extra sterke witte rum 63%", price=0.85),
            v("GOLD", "Gold rum 40%", "Ron dorado 40 %", "Rhum ambré 40 %", "Gouden rum 40%", price=0.85),
            v("DARK", "Dark rum 40%", "Ron oscuro 40 %", "Rhum brun 40 %", "Donkere rum 40%", price=0.9),
            v("SPICED", "Spiced rum 35%", "Ron especiado 35 %", "Rhum épicé 35 %", "Gekruide rum 35%", price=0.85),
            v("A8", "Rum aged 8 years", "Ron añejo 8 años", "Rhum vieux 8 ans", "Rum, 8 jaar gerijpt", price=1.4),
            v("A12", "Rum aged 12 years", "Ron añejo 12 años", "Rhum vieux 12 ans", "Rum, 12 jaar gerijpt", price=2.2),
        ),
    ),
    Family(
        "RHA", "beverages/rum", "220840",
        description=text(
            "Rhum agricole distilled from fresh sugar-cane juice, not molasses, in a creole column still on the estate, then rested or aged in oak. Grassy, floral and full of character. Sold only to buyers of legal drinking age.",
            "Ron agrícola destilado de jugo fresco de caña, no de melaza, en una columna criolla de la propia hacienda, y luego reposado o envejecido en roble. Herbáceo, floral y con mucho carácter. Venta solo a mayores de edad.",
            "Rhum agricole distillé à partir de pur jus de canne frais, et non de mélasse, en colonne créole sur l'habitation, puis reposé ou vieilli sous bois de chêne. Herbacé, floral et plein de caractère. Vente interdite aux mineurs.",
            "Rhum agricole, gestookt uit vers suikerrietsap in plaats van melasse, in een creoolse kolom op het landgoed en daarna gerust of gerijpt op eikenhout. Grassig, bloemig en vol karakter. Alleen verkocht aan kopers van de wettelijke leeftijd.",
        ),
        sizes=(
            each("20CL", "20 cl", 1000, 420, (65, 40, 165)),
            each("70CL", "70 cl", 3000, 1300, (90, 90, 300)),
            case("70CL6", "70 cl", 6, 2700, 1300, (90, 90, 300), moq=6, tiers=((60, 5), (240, 10)), stock=240),
            each("1L", "1 l", 3800, 1750, (95, 95, 320)),
        ),
        excluded=NO_ALCOHOL,
        varieties=(
            v("BLANC", "Rhum agricole blanc 50%", "Ron agrícola blanco 50 %", "Rhum agricole blanc 50 %", "Witte rhum agricole 50%", price=0.8),
            v("BLANC55", "Rhum agricole blanc 55%, cask strength", "Ron agrícola blanco 55 %, de alta graduación", "Rhum agricole blanc 55 %, brut de colonne", "Witte rhum agricole 55%, op vatsterkte", price=0.9),
            v("AMBRE", "Rhum agricole, amber (oak-rested) 45%", "Ron agrícola ámbar (reposado en roble) 45 %", "Rhum agricole ambré (élevé sous bois) 45 %", "Amberkleurige rhum agricole (op eiken gerust) 45%"),
            v("VSOP", "Aged rhum agricole VSOP (4 years)", "Ron agrícola añejo VSOP (4 años)", "Rhum vieux agricole VSOP (4 ans)", "Gerijpte rhum agricole VSOP (4 jaar)", price=1.5),
            v("XO", "Aged rhum agricole XO (6 years)", "Ron agrícola añejo XO (6 años)", "Rhum vieux agricole XO (6 ans)", "Gerijpte rhum agricole XO (6 jaar)", price=2.3),
            v("HDA", "Rhum agricole hors d'âge (10 years)", "Ron agrícola extra añejo (10 años)", "Rhum agricole hors d'âge (10 ans)", "Rhum agricole hors d'âge (10 jaar)", price=3.5),
            v("CASK", "Single-cask rhum agricole, cask strength", "Ron agrícola de barrica única, de alta graduación", "Rhum agricole single cask, brut de fût", "Single-cask rhum agricole, op vatsterkte", price=4.0),
        ),
    ),
    Family(
        "LIQ", "beverages", "220870",
        description=text(
            "Made on the island by macerating local fruit, peel and spices in rum, then sweetened with cane sugar. Serve chilled, over ice or in cocktails. Sold only to buyers of legal drinking age.",
            "Elaborado en la isla macerando frutas, cáscaras y especias locales en ron, y endulzado después con azúcar de caña. Servir frío, con hielo o en cócteles. Venta solo a mayores de edad.",
            "Élaboré sur l'île par macération de fruits, d'écorces et d'épices locaux dans du rhum, puis adouci au sucre de canne. À servir frais, sur glace ou en cocktail. Vente interdite aux mineurs.",
            "Op het eiland gemaakt door lokale vruchten, schillen en specerijen in rum te laten trekken en daarna te zoeten met rietsuiker. Gekoeld serveren, met ijs of in cocktails. Alleen verkocht aan kopers van de wettelijke leeftijd.",
        ),
        sizes=(
            each("20CL", "20 cl", 900, 420, (65, 40, 165)),
            each("70CL", "70 cl", 2500, 1300, (90, 90, 300)),
            case("70CL6", "70 cl", 6, 2250, 1300, (90, 90, 300), moq=6, tiers=((60, 5), (240, 10)), stock=240),
            case("70CL12", "70 cl", 12, 2100, 1300, (90, 90, 300), moq=24),
        ),
        excluded=NO_ALCOHOL,
        varieties=(
            v("GUAVABERRY", "Guavaberry liqueur", "Licor de guavaberry", "Liqueur de guavaberry", "Guavaberrylikeur"),
            v("LARAHA", "Laraha orange liqueur", "Licor de naranja laraha", "Liqueur d'orange laraha", "Laraha-sinaasappellikeur"),
            v("BLUE", "Blue laraha liqueur", "Licor azul de laraha", "Liqueur bleue de laraha", "Blauwe larahalikeur"),
            v("COFFEE", "Coffee liqueur", "Licor de café", "Liqueur de café", "Koffielikeur"),
            v("SORREL", "Sorrel (hibiscus) liqueur", "Licor de flor de Jamaica", "Liqueur d'oseille de Guinée", "Hibiscuslikeur"),
            v("TAMARIND", "Tamarind liqueur", "Licor de tamarindo", "Liqueur de tamarin", "Tamarindelikeur"),
            v("SHRUBB", "Shrubb (orange-peel rum liqueur)", "Shrubb (licor de ron con cáscara de naranja)", "Shrubb (liqueur de rhum aux écorces d'orange)", "Shrubb (rumlikeur met sinaasappelschil)"),
            v("PUNCH", "Punch coco (coconut rum cream)", "Ponche de coco con ron", "Punch coco", "Punch coco (kokosrumcrème)"),
            v("ARRANGE", "Rhum arrangé with pineapple and vanilla", "Ron macerado con piña y vainilla", "Rhum arrangé ananas-vanille", "Rhum arrangé met ananas en vanille", price=1.2),
        ),
    ),
    Family(
        "HOT", "food/hot-sauces", "210390",
        description=text(
            "Small-batch pepper sauce made with fresh peppers, vinegar and island herbs, with no artificial colours or thickeners. Hot: a few drops go a long way. Refrigerate after opening.",
            "Salsa picante artesanal hecha con ajíes frescos, vinagre y hierbas de la isla, sin colorantes ni espesantes artificiales. Picante: bastan unas gotas. Refrigerar después de abrir.",
            "Sauce piquante artisanale préparée avec des piments frais, du vinaigre et des herbes de l'île, sans colorants ni épaississants artificiels. Forte : quelques gouttes suffisent. À conserver au réfrigérateur après ouverture.",
            "Ambachtelijke pepersaus van verse pepers, azijn en kruiden van het eiland, zonder kunstmatige kleurstoffen of verdikkingsmiddelen. Heet: een paar druppels zijn genoeg. Na opening gekoeld bewaren.",
        ),
        sizes=(
            each("150ML", "150 ml", 650, 300, (50, 50, 175)),
            each("250ML", "250 ml", 900, 430, (55, 55, 210)),
            case("150ML24", "150 ml", 24, 470, 300, (50, 50, 175), moq=48),
            each("1L", "1 l catering bottle", 2300, 1250, (90, 90, 270), tiers=((12, 8), (48, 15)), stock=40),
        ),
        varieties=(
            v("SB", "Scotch bonnet pepper sauce", "Salsa de ají scotch bonnet", "Sauce au piment scotch bonnet", "Scotch-bonnet-pepersaus"),
            v("MANGO", "Scotch bonnet and mango sauce", "Salsa de ají scotch bonnet y mango", "Sauce piment scotch bonnet et mangue", "Pepersaus met scotch bonnet en mango"),
            v("PAPAYA", "Papaya pepper sauce", "Salsa picante de papaya", "Sauce piquante à la papaye", "Pepersaus met papaja"),
            v("YELLOW", "Yellow mustard pepper sauce", "Salsa amarilla de ají y mostaza", "Sauce jaune au piment et à la moutarde", "Gele pepersaus met mosterd"),
            v("GREEN", "Green seasoning", "Sazón verde", "Assaisonnement vert", "Groene kruidenmarinade"),
            v("JERK", "Jerk marinade", "Adobo jerk", "Marinade jerk", "Jerkmarinade"),
            v("SCORPION", "Scorpion pepper sauce, extra hot", "Salsa de ají scorpion, extra picante", "Sauce au piment scorpion, extra forte", "Scorpion-pepersaus, extra heet", price=1.2),
            v("TAMARIND", "Tamarind pepper sauce", "Salsa picante de tamarindo", "Sauce piquante au tamarin", "Pepersaus met tamarinde"),
            v("CHIEN", "Sauce chien (chive, lime and pepper)", "Salsa chien (cebollino, lima y ají)", "Sauce chien (cive, citron vert et piment)", "Sauce chien (bieslook, limoen en peper)"),
            v("TIMALICE", "Ti-malice sauce (onion, lime and pepper)", "Salsa ti-malice (cebolla, lima y ají)", "Sauce ti-malice (oignon, citron vert et piment)", "Ti-malicesaus (ui, limoen en peper)"),
            v("MJ", "Madame Jeanette pepper sauce", "Salsa de ají Madame Jeanette", "Sauce au piment Madame Jeanette", "Madame-Jeanettesaus"),
            v("PIKLIZ", "Pikliz (spicy pickled cabbage and peppers)", "Pikliz (repollo y ají encurtidos)", "Pikliz (chou et piments marinés)", "Pikliz (pittig ingelegde kool met pepers)", hs="200190", sizes=JAR_SIZES),
        ),
    ),
    Family(
        "SPI", "food/spices", "091099",
        description=text(
            "Sun-dried on racks and sorted by hand, then packed whole or freshly ground in resealable pouches and glass jars, so the essential oils stay in the spice rather than in a warehouse.",
            "Secadas al sol en bandejas y seleccionadas a mano, se envasan enteras o recién molidas en bolsas resellables y frascos de vidrio, para que los aceites esenciales se queden en la especia y no en un almacén.",
            "Séchées au soleil sur claies et triées à la main, puis conditionnées entières ou fraîchement moulues en sachets refermables et bocaux de verre, pour que les huiles essentielles restent dans l'épice et non dans un entrepôt.",
            "In de zon gedroogd op rekken en met de hand gesorteerd, daarna heel of vers gemalen verpakt in hersluitbare zakjes en glazen potten, zodat de etherische oliën in de specerij blijven en niet in een magazijn.",
        ),
        sizes=(
            each("50G", "50 g jar", 550, 190, (55, 55, 105)),
            each("250G", "250 g pouch", 1800, 270, (180, 120, 40)),
            each("1KG", "1 kg bag", 5800, 1040, (260, 180, 60), tiers=((12, 10), (144, 20)), stock=40),
            case("50G12", "50 g jar", 12, 420, 190, (55, 55, 105), moq=24),
        ),
        varieties=(
            v("NUTW", "Whole nutmeg", "Nuez moscada entera", "Noix de muscade entières", "Hele nootmuskaat", hs="090811"),
            v("NUTG", "Ground nutmeg", "Nuez moscada molida", "Muscade moulue", "Gemalen nootmuskaat", hs="090812"),
            v("MACE", "Mace blades", "Macis entero", "Macis en filaments", "Foelie, heel", hs="090821", price=1.8),
            v("MACEG", "Ground mace", "Macis molido", "Macis moulu", "Gemalen foelie", hs="090822", price=1.8),
            v("PIM", "Whole pimento (allspice) berries", "Pimienta de Jamaica entera", "Piment de la Jamaïque en grains", "Hele piment (jamaicapeper)", hs="090421"),
            v("PIMG", "Ground allspice", "Pimienta de Jamaica molida", "Piment de la Jamaïque moulu", "Gemalen piment", hs="090422"),
            v("CIN", "Cinnamon sticks", "Canela en rama", "Bâtons de cannelle", "Kaneelstokjes", hs="090611", price=1.2),
            v("CING", "Ground cinnamon", "Canela molida", "Cannelle moulue", "Gemalen kaneel", hs="090620"),
            v("CLOVE", "Whole cloves", "Clavos de olor enteros", "Clous de girofle entiers", "Hele kruidnagels", hs="090710", price=1.3),
            v("GING", "Ground ginger", "Jengibre molido", "Gingembre moulu", "Gemalen gember", hs="091012"),
            v("TURM", "Ground turmeric", "Cúrcuma molida", "Curcuma moulu", "Gemalen kurkuma", hs="091030", price=0.8),
            v("BAY", "West Indian bay leaves", "Hojas de malagueta", "Feuilles de bois d'Inde", "West-Indische laurierbladeren", price=0.9),
            v("VAN", "Vanilla pods", "Vainas de vainilla", "Gousses de vanille", "Vanillestokjes", hs="090510", price=6.0),
            v("COLOMBO", "Colombo curry powder", "Curry colombo en polvo", "Poudre à colombo", "Colombo-kerriepoeder", hs="091091"),
            v("JERK", "Jerk seasoning (dry rub)", "Condimento jerk en polvo", "Mélange d'épices jerk", "Jerk-kruidenmix", hs="210390"),
            v("GEERA", "Roasted ground geera (cumin)", "Comino tostado molido", "Cumin torréfié moulu", "Geroosterde gemalen komijn", hs="090932"),
            v("MASALA", "Caribbean curry (masala) blend", "Mezcla de curry caribeño (masala)", "Mélange de curry caribéen (massalé)", "Caribische kerriemelange (masala)", hs="091091"),
        ),
    ),
    Family(
        "SUG", "food/sugar-syrups", "170114",
        description=text(
            "Cane sugar from local cane, unbleached and free of additives. The crystals keep the light molasses flavour that bakers and bartenders look for.",
            "Azúcar de caña local, sin blanquear y sin aditivos. Los cristales conservan el ligero sabor a melaza que buscan reposteros y bármanes.",
            "Sucre issu de cannes locales, non blanchi et sans additifs. Les cristaux gardent la légère saveur de mélasse que recherchent pâtissiers et barmans.",
            "Suiker van lokaal suikerriet, ongebleekt en zonder toevoegingen. De kristallen behouden de lichte melassesmaak waar bakkers en barmannen naar zoeken.",
        ),
        sizes=(
            each("500G", "500 g", 350, 510, (160, 100, 50)),
            each("1KG", "1 kg", 650, 1020, (200, 120, 60)),
            each("2KG", "2 kg", 1150, 2030, (250, 160, 80)),
            each("25KG", "25 kg sack", 9500, 25150, (800, 500, 150), tiers=BULK, moq=2, stock=40),
        ),
        varieties=(
            v("DEM", "Demerara sugar", "Azúcar demerara", "Sucre de canne roux demerara", "Demerarasuiker"),
            v("MUSC", "Dark muscovado sugar", "Azúcar mascabado oscuro", "Sucre muscovado brun", "Donkere muscovadosuiker", hs="170113", price=1.4),
            v("LIGHT", "Light brown cane sugar", "Azúcar moreno claro de caña", "Sucre de canne blond", "Lichtbruine rietsuiker", price=0.9),
            v("ORG", "Organic raw cane sugar", "Azúcar crudo de caña orgánico", "Sucre de canne brut biologique", "Biologische ruwe rietsuiker", price=1.3),
        ),
    ),
    Family(
        "SYR", "food/sugar-syrups", "210690",
        description=text(
            "Cane syrups, plain or with real fruit, flowers or spices, and never any artificial flavourings. For cocktails, punches, shaved ice and baking. Keep in a cool place; refrigerate after opening.",
            "Jarabes de caña, naturales o con fruta, flores o especias de verdad, y nunca aromas artificiales. Para cócteles, ponches, granizados y repostería. Conservar en lugar fresco; refrigerar después de abrir.",
            "Sirops de canne, nature ou aux vrais fruits, fleurs ou épices, sans jamais d'arômes artificiels. Pour les cocktails, les punchs, les sorbets et la pâtisserie. À conserver au frais ; au réfrigérateur après ouverture.",
            "Rietsuikerstropen, puur of met echt fruit, bloemen of specerijen, en nooit kunstmatige aroma's. Voor cocktails, punch, schaafijs en bakken. Koel bewaren; na opening in de koelkast.",
        ),
        sizes=(
            each("200ML", "200 ml", 550, 380, (55, 55, 170)),
            each("375ML", "375 ml", 800, 650, (65, 65, 220)),
            each("750ML", "750 ml", 1350, 1200, (80, 80, 290)),
            case("750ML12", "750 ml", 12, 1100, 1200, (80, 80, 290), moq=12),
        ),
        varieties=(
            v("CANE", "Cane syrup", "Jarabe de caña", "Sirop de canne", "Rietsuikerstroop", hs="170290", price=0.8),
            v("MOL", "Blackstrap molasses", "Melaza de caña", "Mélasse de canne", "Rietsuikermelasse", hs="170310", price=0.7),
            v("FAL", "Falernum syrup (lime, ginger and clove)", "Jarabe de falernum (lima, jengibre y clavo)", "Sirop de falernum (citron vert, gingembre et girofle)", "Falernumsiroop (limoen, gember en kruidnagel)"),
            v("SORREL", "Sorrel (hibiscus) syrup", "Jarabe de flor de Jamaica", "Sirop d'oseille de Guinée (hibiscus)", "Hibiscussiroop (sorrel)"),
            v("GING", "Ginger syrup", "Jarabe de jengibre", "Sirop de gingembre", "Gembersiroop"),
            v("VAN", "Vanilla cane syrup", "Jarabe de caña con vainilla", "Sirop de canne à la vanille", "Rietsuikerstroop met vanille", price=1.3),
            v("PASSION", "Passion fruit syrup", "Jarabe de maracuyá", "Sirop de fruit de la passion", "Passievruchtsiroop"),
        ),
    ),
    Family(
        "TEA", "beverages/tea-infusions", "121190",
        description=text(
            "Harvested and shade-dried the way bush teas have been made in the islands for generations. Steep a tablespoon in a cup of just-boiled water for five to eight minutes; sweeten with honey if you like.",
            "Cosechado y secado a la sombra, como se preparan las infusiones tradicionales en las islas desde hace generaciones. Infusionar una cucharada en una taza de agua recién hervida de cinco a ocho minutos; endulzar con miel si se desea.",
            "Récolté et séché à l'ombre, comme on prépare les tisanes traditionnelles dans les îles depuis des générations. Infuser une cuillère à soupe dans une tasse d'eau frémissante pendant cinq à huit minutes ; sucrer au miel si vous le souhaitez.",
            "Geoogst en in de schaduw gedroogd, zoals kruidenthee al generaties op de eilanden wordt gemaakt. Laat een eetlepel vijf tot acht minuten trekken in een kop net gekookt water; naar smaak zoeten met honing.",
        ),
        sizes=(
            each("50G", "50 g pouch", 600, 75, (200, 130, 40)),
            each("250G", "250 g pouch", 2200, 280, (280, 180, 70)),
            each("1KG", "1 kg bag", 6900, 1050, (350, 250, 120), tiers=((12, 10), (144, 20)), stock=30),
            case("50G12", "50 g pouch", 12, 460, 75, (200, 130, 40), moq=24),
        ),
        excluded=BIOSECURITY,
        varieties=(
            v("SORREL", "Dried sorrel (hibiscus calyces)", "Flor de Jamaica seca", "Oseille de Guinée séchée (fleurs d'hibiscus)", "Gedroogde hibiscusbloemen (sorrel)"),
            v("SORGING", "Sorrel and ginger blend", "Mezcla de flor de Jamaica y jengibre", "Mélange oseille et gingembre", "Melange van hibiscus en gember", hs="210690"),
            v("LEMON", "Lemongrass (fever grass)", "Hierba de limón", "Citronnelle", "Citroengras", price=0.9),
            v("SOURSOP", "Soursop leaf tea", "Té de hojas de guanábana", "Tisane de feuilles de corossol", "Zuurzakbladthee", price=1.1),
            v("MORINGA", "Moringa leaf tea", "Té de hojas de moringa", "Tisane de feuilles de moringa", "Moringabladthee", price=1.2),
            v("CERASEE", "Cerasee (bitter melon vine) tea", "Té de cundeamor", "Tisane de paroka (margose)", "Sopropothee (bittere meloen)"),
        ),
    ),
    Family(
        "JUI", "beverages/juices", "220299",
        description=text(
            "Pressed and bottled within hours of picking, gently pasteurised and free of preservatives. Shake well; once opened, keep chilled and drink within three days.",
            "Prensado y embotellado pocas horas después de la cosecha, pasteurizado suavemente y sin conservantes. Agitar bien; una vez abierto, mantener refrigerado y consumir en tres días.",
            "Pressé et mis en bouteille quelques heures après la cueillette, pasteurisé en douceur et sans conservateurs. Bien agiter ; après ouverture, conserver au frais et consommer sous trois jours.",
            "Binnen enkele uren na de pluk geperst en gebotteld, mild gepasteuriseerd en zonder conserveermiddelen. Goed schudden; na opening gekoeld bewaren en binnen drie dagen opdrinken.",
        ),
        sizes=(
            each("330ML", "330 ml", 350, 420, (60, 60, 180)),
            case("330ML24", "330 ml", 24, 250, 420, (60, 60, 180), moq=48, tiers=((240, 5), (960, 10)), stock=960),
            each("1L", "1 l", 750, 1150, (80, 80, 260)),
            case("1L12", "1 l", 12, 590, 1150, (80, 80, 260), moq=24),
        ),
        varieties=(
            v("SORREL", "Sorrel drink with ginger", "Bebida de flor de Jamaica con jengibre", "Boisson à l'oseille et au gingembre", "Hibiscusdrank met gember"),
            v("MAUBY", "Mauby (bark drink)", "Mabí (bebida de corteza)", "Mabi (boisson à l'écorce)", "Mauby (schorsdrank)"),
            v("GBEER", "Ginger beer (non-alcoholic)", "Cerveza de jengibre sin alcohol", "Bière de gingembre sans alcool", "Alcoholvrij gemberbier"),
            v("PASSION", "Passion fruit juice", "Jugo de maracuyá", "Jus de fruit de la passion", "Passievruchtensap", hs="200989", price=1.2),
            v("GUAVA", "Guava nectar", "Néctar de guayaba", "Nectar de goyave", "Guavenectar"),
            v("COCO", "Coconut water", "Agua de coco", "Eau de coco", "Kokoswater", hs="200989", price=1.1),
            v("TAMARIND", "Tamarind drink", "Refresco de tamarindo", "Boisson au tamarin", "Tamarindedrank"),
            v("PINE", "Black pineapple juice", "Jugo de piña negra", "Jus d'ananas noir", "Sap van zwarte ananas", hs="200941", price=1.3),
        ),
    ),
    Family(
        "PRE", "food/preserves", "200799",
        description=text(
            "Cooked in copper pans in small batches with ripe island fruit and cane sugar; no pectin, colouring or preservatives added.",
            "Cocida en pailas de cobre, en pequeñas tandas, con fruta madura de la isla y azúcar de caña; sin pectina, colorantes ni conservantes añadidos.",
            "Cuite en petites quantités dans des bassines en cuivre, avec des fruits mûrs de l'île et du sucre de canne ; sans pectine, colorant ni conservateur ajoutés.",
            "In kleine porties gekookt in koperen pannen, met rijp eilandfruit en rietsuiker; zonder toegevoegde pectine, kleurstoffen of conserveermiddelen.",
        ),
        sizes=JAR_SIZES,
        varieties=(
            v("GUAVA", "Guava jelly", "Jalea de guayaba", "Gelée de goyave", "Guavegelei"),
            v("GUAVACH", "Guava cheese", "Pasta de guayaba", "Pâte de goyave", "Guavepasta"),
            v("MANGO", "Mango chutney", "Chutney de mango", "Chutney de mangue", "Mangochutney", hs="200190"),
            v("PEPPERJ", "Hot pepper jelly", "Jalea de ají picante", "Gelée de piment", "Hete pepergelei"),
            v("NUTJAM", "Nutmeg jam (from the fruit's pericarp)", "Mermelada de nuez moscada (del pericarpio del fruto)", "Confiture de muscade (de la chair du fruit)", "Nootmuskaatjam (van het vruchtvlees)", price=1.2),
            v("PINEJAM", "Pineapple jam", "Mermelada de piña", "Confiture d'ananas", "Ananasjam"),
            v("BANPASS", "Banana and passion fruit jam", "Mermelada de plátano y maracuyá", "Confiture banane-passion", "Jam van banaan en passievrucht"),
            v("COCO", "Coconut drops (coconut and ginger candy)", "Dulce de coco con jengibre", "Tablettes coco-gingembre", "Kokossnoepjes met gember", hs="170490"),
            v("TAMBALL", "Tamarind balls", "Bolitas de tamarindo", "Boules de tamarin", "Tamarindeballetjes", hs="170490"),
        ),
    ),
    Family(
        "MAD", "textiles/madras", "520842",
        title={"en": "Madras fabric, {v}", "es": "Tela de madrás, {v}", "fr": "Tissu madras {v}", "nl": "Madrasstof, {v}"},
        description=text(
            "Yarn-dyed cotton madras woven in bright checks for the traditional dress of the Antilles. 100% cotton, about 110 g/m², 140 cm wide; cut in one piece.",
            "Madrás de algodón teñido en hilo, tejido en cuadros de colores vivos para el traje tradicional de las Antillas. 100 % algodón, unos 110 g/m², 140 cm de ancho; cortado en una sola pieza.",
            "Madras de coton teint en fil, tissé en carreaux éclatants pour le costume traditionnel des Antilles. 100 % coton, environ 110 g/m², laize de 140 cm ; coupé d'un seul tenant.",
            "Garengeverfde katoenen madras, geweven in felle ruiten voor de traditionele klederdracht van de Antillen. 100% katoen, ongeveer 110 g/m², 140 cm breed; in één stuk geknipt.",
        ),
        sizes=(
            each("1M", "per metre", 1300, 160, (300, 200, 15), option="length"),
            each("5M", "5 m cut", 5900, 800, (300, 200, 50), option="length", stock=40),
            each("50M", "50 m roll", 48000, 8000, (1450, 180, 180), option="length", tiers=((4, 5), (10, 10)), stock=12),
        ),
        varieties=(
            v("RJ", "red and yellow", "rojo y amarillo", "rouge et jaune", "rood en geel"),
            v("OV", "orange and green", "naranja y verde", "orange et vert", "oranje en groen"),
            v("BB", "blue and white", "azul y blanco", "bleu et blanc", "blauw en wit"),
            v("VO", "purple and gold", "morado y dorado", "violet et or", "paars en goud"),
            v("VR", "green and pink", "verde y rosa", "vert et rose", "groen en roze"),
            v("TRAD", "traditional multicolour", "multicolor tradicional", "multicolore traditionnel", "traditioneel veelkleurig", price=1.1),
        ),
    ),
    Family(
        "MDG", "textiles/madras", "621490",
        title=dict.fromkeys(("en", "es", "fr", "nl"), "{v}"),
        description=text(
            "Sewn in our workshop from yarn-dyed cotton madras, with double-stitched seams and colours that hold up to washing at 40 °C. Each piece is cut by hand, so the checks fall slightly differently on every one.",
            "Confeccionado en nuestro taller con madrás de algodón teñido en hilo, con costuras dobles y colores que resisten el lavado a 40 °C. Cada pieza se corta a mano, así que los cuadros caen de forma algo distinta en cada una.",
            "Confectionné dans notre atelier en madras de coton teint en fil, avec des coutures doubles et des couleurs qui résistent au lavage à 40 °C. Chaque pièce est coupée à la main : les carreaux tombent un peu différemment sur chacune.",
            "In ons atelier genaaid van garengeverfde katoenen madras, met dubbel gestikte naden en kleuren die wassen op 40 °C doorstaan. Elk stuk wordt met de hand geknipt, dus de ruiten vallen bij elk stuk net iets anders.",
        ),
        sizes=(
            each("PC", "single", 2500, 120, (300, 200, 20), option="pack", tiers=((12, 8), (48, 15)), stock=30),
            case("PC10", None, 10, 2000, 120, (300, 200, 20), moq=20, tiers=((100, 5), (500, 10)), stock=100),
        ),
        axis=MADRAS_COLOURS,
        varieties=(
            v("SCARF", "Madras headscarf", "Pañuelo de cabeza de madrás", "Foulard de tête en madras", "Madras hoofddoek"),
            v("TABLE", "Madras tablecloth, 150 × 250 cm", "Mantel de madrás, 150 × 250 cm", "Nappe en madras, 150 × 250 cm", "Madras tafelkleed, 150 × 250 cm", hs="630251", price=2.4, weight=4.5),
            v("NAPKIN", "Madras napkins, set of 6", "Servilletas de madrás, juego de 6", "Serviettes en madras, lot de 6", "Madras servetten, set van 6", hs="630251", price=1.4, weight=2.0),
            v("TOTE", "Madras tote bag", "Bolso de madrás", "Sac cabas en madras", "Madras draagtas", hs="420222", price=1.3, weight=1.8),
            v("APRON", "Madras apron", "Delantal de madrás", "Tablier en madras", "Madras schort", hs="621142", price=1.1, weight=1.3),
            v("BOWTIE", "Madras bow tie", "Pajarita de madrás", "Nœud papillon en madras", "Madras vlinderdas", hs="621590", price=0.7, weight=0.3),
        ),
    ),
    Family(
        "CLO", "textiles/clothing", "620520",
        title=dict.fromkeys(("en", "es", "fr", "nl"), "{v}"),
        description=text(
            "Cut and sewn in our workshop from breathable cotton and linen made for hot days, in small runs, so styles change with the seasons. Machine wash cold; dry in the shade.",
            "Cortado y cosido en nuestro taller con algodón y lino transpirables pensados para los días de calor, en series cortas, así que los modelos cambian con las temporadas. Lavar a máquina en frío; secar a la sombra.",
            "Coupé et cousu dans notre atelier, en coton et en lin respirants pensés pour les journées chaudes, en petites séries : les modèles changent au fil des saisons. Lavage en machine à froid ; séchage à l'ombre.",
            "In ons atelier geknipt en genaaid van ademend katoen en linnen voor warme dagen, in kleine oplagen, dus de modellen wisselen met de seizoenen. Koud wassen in de machine; in de schaduw drogen.",
        ),
        sizes=tuple(each(s, s, 4500, w, (300, 250, 30), tiers=((12, 10), (144, 20)), stock=15) for s, w in (("S", 180), ("M", 200), ("L", 220), ("XL", 240))),
        axis=("colour", (("RJ", "red and yellow madras"), ("BB", "blue madras"))),
        varieties=(
            v("SHIRT", "Madras short-sleeve shirt", "Camisa de madrás de manga corta", "Chemise en madras à manches courtes", "Madras overhemd met korte mouwen"),
            v("GUAYA", "Linen guayabera", "Guayabera de lino", "Guayabera en lin", "Linnen guayabera", hs="620590", price=1.5,
              axis=("colour", (("WHT", "white"), ("SND", "sand")))),
            v("DRESS", "Madras wrap dress", "Vestido cruzado de madrás", "Robe portefeuille en madras", "Madras wikkeljurk", hs="620442", price=1.6),
            v("SKIRT", "Cotton batik skirt", "Falda de batik de algodón", "Jupe en batik de coton", "Katoenen batikrok", hs="620452", price=1.1,
              axis=("colour", (("IND", "indigo"), ("TER", "terracotta")))),
            v("TSHIRT", "Hand-printed organic cotton T-shirt", "Camiseta de algodón orgánico estampada a mano", "T-shirt en coton bio imprimé à la main", "Met de hand bedrukt T-shirt van biokatoen",
              hs="610910", price=0.6, axis=("colour", (("WHT", "white"), ("BLK", "black")))),
        ),
    ),
    Family(
        "WOO", "crafts/woodwork", "441920",
        title=dict.fromkeys(("en", "es", "fr", "nl"), "{v}"),
        description=text(
            "Carved and finished by hand from sustainably harvested or salvaged tropical hardwood and sealed with food-safe oil. Every piece is unique; grain and colour vary.",
            "Tallado y acabado a mano en madera tropical de tala sostenible o recuperada, sellado con aceite apto para alimentos. Cada pieza es única; la veta y el color varían.",
            "Sculpté et fini à la main dans un bois tropical issu de coupes durables ou de récupération, protégé par une huile de qualité alimentaire. Chaque pièce est unique ; le veinage et la teinte varient.",
            "Met de hand gesneden en afgewerkt uit duurzaam gekapt of hergebruikt tropisch hardhout, behandeld met voedselveilige olie. Elk stuk is uniek; nerf en kleur variëren.",
        ),
        sizes=CRAFT_SIZES,
        excluded=BIOSECURITY,
        varieties=(
            v("BOWL", "Mahogany salad bowl", "Ensaladera de caoba", "Saladier en acajou", "Mahoniehouten slakom"),
            v("BOARD", "Greenheart cutting board", "Tabla de cortar de greenheart", "Planche à découper en greenheart", "Snijplank van greenheart", price=0.8),
            v("SPOONS", "Serving spoons, pair", "Cucharas de servir, par", "Couverts à salade, la paire", "Slacouvert, per paar", price=0.5),
            v("CARV", "Lignum vitae heron carving", "Garza tallada en guayacán", "Héron sculpté en gaïac", "Reiger van pokhout", hs="442011", price=1.8),
            v("MASK", "Carved wooden mask", "Máscara tallada en madera", "Masque en bois sculpté", "Gesneden houten masker", hs="442011", price=1.4),
            v("DOMINO", "Hardwood domino set in a box", "Dominó de madera dura en caja", "Jeu de dominos en bois dur avec coffret", "Hardhouten dominospel in kistje", hs="950490", price=1.2),
            v("TRAY", "Inlaid serving tray", "Bandeja de servir con marquetería", "Plateau de service en marqueterie", "Dienblad met inlegwerk", price=1.5),
        ),
    ),
    Family(
        "BAS", "crafts/baskets", "460219",
        title=dict.fromkeys(("en", "es", "fr", "nl"), "{v}"),
        description=text(
            "Plaited by hand from palm leaf, straw or reed by local weavers; each piece takes one to three days. Natural fibres: keep dry and out of strong sun.",
            "Trenzado a mano con hoja de palma, paja o junco por tejedoras locales; cada pieza lleva de uno a tres días de trabajo. Fibras naturales: mantener en lugar seco y protegido del sol intenso.",
            "Tressé à la main en feuille de palmier, paille ou roseau par des vannières de l'île ; chaque pièce demande un à trois jours de travail. Fibres naturelles : à garder au sec et à l'abri du soleil vif.",
            "Met de hand gevlochten van palmblad, stro of riet door lokale vlechters; elk stuk kost een tot drie dagen werk. Natuurlijke vezels: droog en uit de felle zon bewaren.",
        ),
        sizes=(
            each("S", "small", 1200, 220, (250, 250, 150), tiers=CRAFT, stock=25),
            each("M", "medium", 2100, 450, (350, 350, 220), tiers=CRAFT, stock=18),
            each("L", "large", 3400, 800, (450, 450, 300), tiers=CRAFT, stock=10),
            case("M6", "medium", 6, 1700, 450, (350, 350, 220), moq=6, tiers=((24, 5), (60, 10)), stock=36),
        ),
        excluded=BIOSECURITY,
        varieties=(
            v("MARKET", "Market basket with handles", "Canasta de mercado con asas", "Panier de marché à anses", "Marktmand met hengsels"),
            v("BAG", "Straw shoulder bag", "Bolso de paja", "Sac en paille", "Strooien schoudertas", price=1.2),
            v("HAT", "Plaited palm hat", "Sombrero de palma trenzada", "Chapeau en palmier tressé", "Gevlochten palmhoed", hs="650400", price=0.9),
            v("MAT", "Woven placemats, set of 4", "Manteles individuales tejidos, juego de 4", "Sets de table tressés, lot de 4", "Gevlochten placemats, set van 4", hs="460194", price=0.8),
            v("BREAD", "Bread basket", "Panera", "Corbeille à pain", "Broodmand", price=0.6),
            v("HAMPER", "Lidded storage hamper", "Cesto con tapa", "Panier à couvercle", "Mand met deksel", price=1.6),
        ),
    ),
    Family(
        "ART", "crafts/art", "482370",
        title=dict.fromkeys(("en", "es", "fr", "nl"), "{v}"),
        description=text(
            "Made by hand by the artists of our workshop and signed. Colours and details vary, so no two pieces are exactly alike.",
            "Hecho a mano por los artistas de nuestro taller y firmado. Los colores y los detalles varían, así que no hay dos piezas iguales.",
            "Réalisé à la main par les artistes de notre atelier et signé. Les couleurs et les détails varient : il n'y a pas deux pièces identiques.",
            "Met de hand gemaakt door de kunstenaars van ons atelier en gesigneerd. Kleuren en details variëren, dus geen twee stukken zijn precies gelijk.",
        ),
        sizes=CRAFT_SIZES,
        varieties=(
            v("MASK", "Papier-mâché carnival mask", "Máscara de carnaval de papel maché", "Masque de carnaval en papier mâché", "Carnavalsmasker van papier-maché", hs="950590"),
            v("BOWL", "Hand-painted papier-mâché bowl", "Cuenco de papel maché pintado a mano", "Coupe en papier mâché peinte à la main", "Handbeschilderde schaal van papier-maché", price=0.7),
            v("PARROT", "Papier-mâché parrot", "Loro de papel maché", "Perroquet en papier mâché", "Papegaai van papier-maché", price=0.8),
            v("METAL", "Cut-steel drum wall art", "Arte mural en metal recortado de bidón", "Fer découpé (art du bidon), décor mural", "Wandkunst van uitgezaagd olievatstaal", hs="830629", price=1.5),
            v("PAINT", "Original acrylic painting on canvas", "Pintura original acrílica sobre lienzo", "Peinture originale à l'acrylique sur toile", "Origineel acrylschilderij op doek", hs="970191", price=4.0, sizes=SIZES_SML),
            v("CHICHI", "Hand-painted chichi figure", "Figura chichi pintada a mano", "Figurine chichi peinte à la main", "Handbeschilderde chichi", hs="691390", price=1.2),
            v("PRINT", "Signed art print", "Lámina artística firmada", "Tirage d'art signé", "Gesigneerde kunstdruk", hs="491191", price=0.6),
        ),
    ),
    Family(
        "BEA", "beauty/soaps-oils", "330499",
        description=text(
            "Made in small batches with plant oils and botanicals grown on the island; no parabens, mineral oil or synthetic fragrance. For external use only; patch-test on sensitive skin.",
            "Elaborado en pequeñas tandas con aceites vegetales y plantas cultivadas en la isla; sin parabenos, aceite mineral ni perfume sintético. Solo para uso externo; si tiene la piel sensible, pruébelo antes en una zona pequeña.",
            "Fabriqué en petites séries avec des huiles végétales et des plantes cultivées sur l'île ; sans parabènes, huile minérale ni parfum de synthèse. Usage externe uniquement ; faire un test sur une petite zone en cas de peau sensible.",
            "In kleine partijen gemaakt met plantaardige oliën en kruiden die op het eiland groeien; zonder parabenen, minerale olie of synthetische geurstoffen. Alleen voor uitwendig gebruik; test eerst op een klein stukje huid als u een gevoelige huid hebt.",
        ),
        sizes=(
            each("100ML", "100 ml", 950, 170, (50, 50, 125)),
            each("250ML", "250 ml", 1900, 330, (65, 65, 165)),
            each("500ML", "500 ml refill", 3200, 580, (80, 80, 200), tiers=((12, 10), (48, 18)), stock=40),
            case("100ML24", "100 ml", 24, 720, 170, (50, 50, 125), moq=24, tiers=((96, 5), (480, 10))),
        ),
        varieties=(
            v("COCO", "Cold-pressed virgin coconut oil", "Aceite de coco virgen prensado en frío", "Huile de coco vierge pressée à froid", "Koudgeperste virgin kokosolie", hs="151311"),
            v("CASTOR", "Black castor oil", "Aceite de ricino negro", "Huile de ricin noire", "Zwarte ricinusolie", hs="151530"),
            v("SOAP", "Handmade soap with coconut and lime", "Jabón artesanal de coco y lima", "Savon artisanal coco et citron vert", "Handgemaakte zeep met kokos en limoen", hs="340111", sizes=SOAP_SIZES),
            v("SOAPOAT", "Handmade soap with cocoa butter and oats", "Jabón artesanal de manteca de cacao y avena", "Savon artisanal au beurre de cacao et à l'avoine", "Handgemaakte zeep met cacaoboter en haver", hs="340111", sizes=SOAP_SIZES),
            v("BAYRUM", "Bay rum aftershave", "Loción para después del afeitado de bay rum", "Lotion après-rasage au bay rum", "Bay rum aftershave", hs="330710", price=1.2),
            v("VETIVER", "Vetiver essential oil", "Aceite esencial de vetiver", "Huile essentielle de vétiver", "Etherische vetiverolie", hs="330129", sizes=OIL_SIZES, price=1.5),
            v("NUTOIL", "Nutmeg essential oil", "Aceite esencial de nuez moscada", "Huile essentielle de muscade", "Etherische nootmuskaatolie", hs="330129", sizes=OIL_SIZES),
            v("ALOE", "Aloe vera gel", "Gel de aloe vera", "Gel d'aloe vera", "Aloë-veragel"),
            v("BALM", "Cocoa butter body balm", "Bálsamo corporal de manteca de cacao", "Baume corporel au beurre de cacao", "Lichaamsbalsem met cacaoboter", price=1.1),
            v("AFTERSUN", "Aloe after-sun lotion", "Loción para después del sol con aloe", "Lait après-soleil à l'aloe vera", "Aftersunlotion met aloë"),
        ),
    ),
)}


# Merchants ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """Part of a merchant's range: some varieties of one family (all when `varieties` is empty)."""

    family: str
    varieties: str = ""  # codes separated by spaces
    price: float = 1.0  # the merchant's price level for this line
    origin: str | None = None  # country of origin when not the merchant's own
    place: str | None = None  # the place named in titles when not the merchant's


@dataclass(frozen=True)
class DemoMerchant:
    handle: str
    name: str
    legal_name: str
    country: str
    languages: tuple[str, ...]
    place: str
    locations: tuple[str, ...]
    lines: tuple[Line, ...]

    @property
    def email(self) -> str:
        return f"owner@{self.handle}.example"

    @property
    def sku_prefix(self) -> str:
        return "".join(word[0] for word in self.handle.split("-")).upper()


def merchant(handle, name, legal_name, country, languages, place, locations, *lines) -> DemoMerchant:
    return DemoMerchant(handle, name, legal_name, country, tuple(languages.split()), place, tuple(locations.split("|")), lines)


MERCHANTS = (
    # kin: Kingston
    merchant("blue-mountain-coffee", "Blue Mountain Coffee Traders", "Blue Mountain Coffee Traders Ltd", "JM", "en", "Blue Mountain",
             "Mavis Bank roastery|Kingston warehouse",
             Line("COF", price=2.4), Line("CHO", "COFFEE D70 SALT"), Line("LIQ", "COFFEE"), Line("CAC", "TEA DRINK"), Line("SYR", "VAN CANE")),
    merchant("cockpit-country-rum", "Cockpit Country Rum Co.", "Cockpit Country Distillers Ltd", "JM", "en", "Cockpit Country",
             "Albert Town distillery|Montego Bay bond",
             Line("RUM"), Line("LIQ", "COFFEE SORREL TAMARIND"), Line("SYR", "CANE MOL FAL"), Line("SUG", "DEM MUSC"), Line("JUI", "GBEER SORREL")),
    merchant("stann-creek-pepper", "Stann Creek Pepper Co.", "Stann Creek Pepper Company Ltd", "BZ", "en es", "Stann Creek",
             "Dangriga kitchen|Belize City depot",
             Line("HOT", "SB MANGO PAPAYA GREEN TAMARIND SCORPION JERK"), Line("PRE", "GUAVA MANGO PEPPERJ PINEJAM"),
             Line("JUI", "PASSION COCO GUAVA TAMARIND"), Line("SPI", "PIMG GING TURM")),
    merchant("nassau-straw-market", "Nassau Straw Market Collective", "Nassau Straw Market Collective Ltd", "BS", "en", "Nassau",
             "Bay Street stall|Nassau storeroom",
             Line("BAS"), Line("WOO", "BOWL SPOONS CARV TRAY DOMINO"), Line("ART", "PRINT PAINT PARROT MASK BOWL"), Line("BEA", "COCO SOAP")),
    merchant("baracoa-cacao-cafe", "Baracoa Cacao y Café", "Cooperativa Agropecuaria Baracoa", "CU", "es", "Baracoa",
             "Baracoa",
             Line("CHO", "D70 D85 MILK NIBS SALT NUT"), Line("CAC"), Line("COF", "MED DARK LIGHT PEA GREEN", place="Sierra Maestra"),
             Line("RUM", "WHITE A8", place="Santiago de Cuba")),
    # sdq: Santo Domingo
    merchant("cibao-cacao", "Cibao Cacao Cooperative", "Cooperativa Cacaotera del Cibao", "DO", "es en", "Cibao",
             "San Francisco de Macorís|Santo Domingo",
             Line("CHO"), Line("CAC"), Line("RUM", "WHITE GOLD A8 A12", place="Santo Domingo")),
    merchant("jacmel-papier-mache", "Jacmel Papier-Mâché Atelier", "Atelier Jacmel Papier-Mâché S.A.", "HT", "fr", "Jacmel",
             "Jacmel atelier",
             Line("ART", "MASK BOWL PARROT METAL PAINT PRINT"), Line("WOO", "MASK BOWL CARV TRAY SPOONS DOMINO"),
             Line("BAS", "BAG HAT MAT MARKET BREAD HAMPER")),
    merchant("maison-cap-haitien", "Maison Cap-Haïtien", "Maison Cap-Haïtien S.A.", "HT", "fr en", "Cap-Haïtien",
             "Cap-Haïtien|Port-au-Prince",
             Line("HOT", "PIKLIZ TIMALICE SB CHIEN GREEN"), Line("BEA", "VETIVER CASTOR COCO SOAP"),
             Line("COF", "MED DARK GREEN", place="Thiotte"), Line("SPI", "CLOVE CING GING"), Line("RHA", "BLANC BLANC55")),
    merchant("hacienda-yauco", "Hacienda Yauco", "Hacienda Yauco Alto LLC", "PR", "es en", "Yauco",
             "Yauco|San Juan",
             Line("COF", "MED DARK PEA ESP LIGHT", price=1.6), Line("SYR", "CANE VAN GING PASSION"), Line("JUI", "COCO TAMARIND PASSION"),
             Line("SUG", "MUSC ORG"), Line("CHO", "COFFEE D70")),
    merchant("crucian-spice-sauce", "Crucian Spice & Sauce", "Crucian Spice and Sauce LLC", "VI", "en", "St. Croix",
             "Christiansted",
             Line("HOT", "SB MANGO PAPAYA TAMARIND JERK"), Line("SPI", "PIM PIMG GING CING JERK BAY NUTG"),
             Line("PRE", "GUAVA MANGO PEPPERJ TAMBALL COCO")),
    # sxm: Philipsburg
    merchant("great-bay-spice", "Great Bay Spice Company", "Great Bay Spice Company N.V.", "SX", "en nl", "Great Bay",
             "Philipsburg warehouse|Simpson Bay shop",
             Line("SPI", "NUTW NUTG MACE MACEG CIN CING CLOVE VAN", origin="GD", place="Grenada"), Line("SPI", "PIM PIMG JERK", origin="JM", place="Jamaica"),
             Line("LIQ", "GUAVABERRY"), Line("HOT", "SB MANGO TAMARIND"), Line("SYR", "FAL GING")),
    merchant("antigua-black-pineapple", "Antigua Black Pineapple Farm", "Black Pineapple Farm (Antigua) Ltd", "AG", "en", "Antigua",
             "Cades Bay farm|St. John's",
             Line("JUI", "PINE PASSION COCO GUAVA SORREL TAMARIND GBEER"), Line("PRE", "PINEJAM GUAVA PEPPERJ MANGO GUAVACH COCO TAMBALL"),
             Line("SYR", "PASSION SORREL"), Line("HOT", "PAPAYA MANGO")),
    merchant("nevis-sugar-mill", "Nevis Sugar Mill Crafts", "Nevis Sugar Mill Crafts Ltd", "KN", "en", "Nevis",
             "Charlestown",
             Line("WOO"), Line("BAS", "MARKET BAG MAT BREAD"), Line("SUG"), Line("SYR", "CANE MOL")),
    merchant("emerald-isle-botanicals", "Emerald Isle Botanicals", "Emerald Isle Botanicals Ltd", "MS", "en", "Montserrat",
             "Brades",
             Line("BEA", "COCO CASTOR SOAP SOAPOAT BALM ALOE AFTERSUN BAYRUM"), Line("TEA"), Line("PRE", "GUAVA PEPPERJ")),
    merchant("maison-gustavia", "Maison Gustavia", "Maison Gustavia SAS", "BL", "fr en", "Gustavia",
             "Gustavia boutique|Lorient entrepôt",
             Line("LIQ", "ARRANGE PUNCH SHRUBB", price=1.3), Line("MDG", "SCARF TOTE BOWTIE NAPKIN TABLE", price=1.3),
             Line("BEA", "SOAP BALM COCO AFTERSUN BAYRUM SOAPOAT", price=1.3), Line("SPI", "COLOMBO")),
    # fdf: Fort-de-France
    merchant("distillerie-du-precheur", "Distillerie du Prêcheur", "Distillerie du Prêcheur SAS", "MQ", "fr", "Le Prêcheur",
             "Chai du Prêcheur|Dépôt de Fort-de-France",
             Line("RHA"), Line("LIQ", "SHRUBB PUNCH ARRANGE"), Line("SYR", "CANE VAN FAL GING PASSION"), Line("PRE", "BANPASS")),
    merchant("madras-foyal", "Madras Foyal", "Maison du Madras Foyal SARL", "MQ", "fr en", "Fort-de-France",
             "Atelier de Fort-de-France",
             Line("MAD"), Line("MDG"), Line("CLO")),
    merchant("basse-terre-vanille", "Basse-Terre Vanille & Cacao", "Basse-Terre Vanille SARL", "GP", "fr", "Basse-Terre",
             "Vieux-Habitants",
             Line("SPI", "VAN CIN CING NUTW COLOMBO BAY CLOVE"), Line("CHO", "D70 MILK NUT BONBON"), Line("CAC", "TEA POW DRINK"),
             Line("COF", "MED DARK", place="Vieux-Habitants", price=1.8), Line("SYR", "VAN")),
    merchant("marie-galante-douceurs", "Douceurs de Marie-Galante", "Douceurs de Marie-Galante SARL", "GP", "fr en", "Marie-Galante",
             "Grand-Bourg",
             Line("PRE", "GUAVA GUAVACH BANPASS COCO PINEJAM MANGO PEPPERJ"), Line("SUG", "MUSC LIGHT"), Line("RHA", "BLANC BLANC55 AMBRE"),
             Line("SYR", "CANE VAN"), Line("LIQ", "PUNCH SHRUBB"), Line("JUI", "COCO GUAVA")),
    merchant("artisans-de-marigot", "Les Artisans de Marigot", "Les Artisans de Marigot SARL", "MF", "fr en", "Marigot",
             "Marigot",
             Line("BAS"), Line("ART", "MASK BOWL PAINT PRINT"), Line("MDG", "SCARF TOTE"), Line("BEA", "SOAP COCO ALOE"), Line("WOO", "BOWL TRAY")),
    # bgi: Bridgetown
    merchant("bajan-pepper-sauce", "Bajan Pepper Sauce Works", "Bajan Pepper Sauce Works Inc.", "BB", "en", "Barbados",
             "Bridgetown kitchen|Speightstown store",
             Line("HOT", "YELLOW SB MANGO GREEN TAMARIND SCORPION"), Line("PRE", "GUAVA PEPPERJ MANGO COCO"), Line("SYR", "FAL GING SORREL"),
             Line("SPI", "GING CING NUTG"), Line("JUI", "SORREL MAUBY GBEER")),
    merchant("speightstown-rum", "Speightstown Rum Company", "Speightstown Rum Company Ltd", "BB", "en", "Speightstown",
             "Speightstown bond",
             Line("RUM"), Line("LIQ", "SORREL COFFEE TAMARIND"), Line("SYR", "FAL CANE MOL SORREL"), Line("SUG", "DEM MUSC LIGHT"), Line("JUI", "GBEER")),
    merchant("soufriere-cocoa", "Soufrière Cocoa Estate", "Soufrière Cocoa Estate Ltd", "LC", "en", "Soufrière",
             "Soufrière estate|Castries",
             Line("CHO", price=1.2), Line("CAC"), Line("TEA", "LEMON SOURSOP MORINGA")),
    merchant("grenada-nutmeg", "Grenada Nutmeg Growers", "Grenada Nutmeg Growers Ltd", "GD", "en", "Grenada",
             "Gouyave station|St. George's",
             Line("SPI", "NUTW NUTG MACE MACEG CIN CING CLOVE BAY TURM GING VAN PIM"), Line("PRE", "NUTJAM GUAVA"), Line("BEA", "NUTOIL BALM SOAP"),
             Line("SYR", "SORREL GING")),
    merchant("roseau-valley-crafts", "Roseau Valley Crafts", "Roseau Valley Crafts Ltd", "DM", "en", "Dominica",
             "Roseau",
             Line("BAS"), Line("WOO", "BOWL SPOONS MASK CARV TRAY"), Line("BEA", "BAYRUM COCO CASTOR SOAP"), Line("TEA", "LEMON SOURSOP CERASEE")),
    # pos: Port of Spain
    merchant("moruga-pepper", "Moruga Pepper Company", "Moruga Pepper Company Ltd", "TT", "en", "Moruga",
             "Moruga kitchen|Port of Spain",
             Line("HOT", "SCORPION SB GREEN MANGO TAMARIND PAPAYA"), Line("SPI", "GEERA MASALA PIMG GING TURM"), Line("CHO", "D70 D85 NUT SALT"),
             Line("PRE", "MANGO TAMBALL"), Line("CAC", "TEA")),
    merchant("demerara-sugar", "Demerara Sugar Wholesale", "Demerara Sugar Wholesale Inc.", "GY", "en", "Demerara",
             "Georgetown wharf|New Amsterdam",
             Line("SUG"), Line("SYR", "CANE MOL FAL"), Line("RUM", "WHITE DARK A8 A12 GOLD SPICED OVP"), Line("WOO", "BOARD BOWL SPOONS CARV")),
    merchant("paramaribo-kruiden", "Paramaribo Kruiden", "Paramaribo Kruiden N.V.", "SR", "nl en", "Paramaribo",
             "Paramaribo",
             Line("SPI", "GEERA MASALA TURM GING CLOVE CING PIMG NUTG"), Line("HOT", "MJ SB MANGO TAMARIND SCORPION"),
             Line("PRE", "MANGO PEPPERJ TAMBALL"), Line("TEA", "SORREL CERASEE"), Line("JUI", "GBEER")),
    merchant("landhuis-laraha", "Landhuis Laraha", "Landhuis Laraha B.V.", "CW", "nl en", "Curaçao",
             "Willemstad",
             Line("LIQ", "LARAHA BLUE COFFEE TAMARIND"), Line("ART", "CHICHI PRINT PAINT MASK BOWL"), Line("BEA", "ALOE BALM AFTERSUN SOAP COCO"),
             Line("SYR", "PASSION GING"), Line("PRE", "TAMBALL COCO")),
    merchant("hooiberg-aloe", "Hooiberg Aloe Farm", "Hooiberg Aloe Farm N.V.", "AW", "nl en es", "Aruba",
             "Hooiberg farm|Oranjestad",
             Line("BEA", "ALOE AFTERSUN SOAP BALM COCO CASTOR BAYRUM SOAPOAT"), Line("TEA", "MORINGA LEMON SOURSOP CERASEE"),
             Line("JUI", "COCO PASSION GUAVA TAMARIND"), Line("PRE", "COCO TAMBALL")),
)


@dataclass(frozen=True)
class DemoPriceList:
    handle: str
    name: str
    buyers: tuple[str, ...]  # made-up buyer companies; their ids are derived from the names
    percent_off_bp: int | None = None
    contract_sizes: tuple[str, ...] = ()  # contract prices for variants of these sizes...
    contract_off: int = 0  # ...at this percent off their lowest tier price
    valid_until: date | None = None


PRICE_LISTS = (
    DemoPriceList("blue-mountain-coffee", "Kingston hotels and cafés: 12 % off", ("Coral Reef Resorts", "Hillside Café Group", "Harbourview Inns"), percent_off_bp=1200),
    DemoPriceList("blue-mountain-coffee", "Importer contract: 5 kg sacks", ("Kanto Coffee Importers",), contract_sizes=("5KG",), contract_off=10),
    DemoPriceList("cockpit-country-rum", "Duty-free shops: 10 % off", ("Island Duty Free Traders", "Airport Gift Shops Ltd"), percent_off_bp=1000),
    DemoPriceList("cibao-cacao", "Chocolate makers: bean and butter contract", ("Atelier Cacao Lyon", "Bean Bar Collective"), contract_sizes=("5KG", "25KG"), contract_off=8),
    DemoPriceList("distillerie-du-precheur", "Cavistes : remise de 8 %", ("Cave des Îles", "Comptoir du Rhum"), percent_off_bp=800),
    DemoPriceList("grenada-nutmeg", "Spice importers: 1 kg contract", ("Hamburg Gewürzhandel", "Toronto Spice Wholesale"), contract_sizes=("1KG",), contract_off=12),
    DemoPriceList("moruga-pepper", "Supermarket chains: 15 % off", ("Island Fresh Supermarkets", "Sunrise Food Stores"), percent_off_bp=1500, valid_until=date(2027, 12, 31)),
)
PRICE_LISTS_FROM = date(2026, 1, 1)


# Building the catalogue (pure: no database) ---------------------------------------------------

def catalogue(spec: DemoMerchant, currency: str) -> list[dict]:
    """The merchant's products as `catalog.write_product` takes them, the same on every call."""
    rng = random.Random(f"cpu-demo:{spec.handle}")
    target = rng.randint(*VARIANTS_PER_MERCHANT)
    products: list[dict] = []
    variants = 0
    for line, variety in _interleaved(spec, rng):
        if products and (variants >= target or len(products) >= MAX_PRODUCTS):
            break
        product = _product(spec, line, variety, currency)
        products.append(product)
        variants += len(product["variants"])
    return products


def _interleaved(spec: DemoMerchant, rng: random.Random) -> Iterator[tuple[Line, Variety]]:
    """One variety from each line in turn, so every part of the range is represented."""
    queues = []
    for line in spec.lines:
        family = FAMILIES[line.family]
        varieties = [family.variety(code) for code in line.varieties.split()] or list(family.varieties)
        rng.shuffle(varieties)
        queues.append([(line, variety) for variety in varieties])
    for row in zip_longest(*queues):
        yield from (item for item in row if item is not None)


def _product(spec: DemoMerchant, line: Line, variety: Variety, currency: str) -> dict:
    family = FAMILIES[line.family]
    ref = f"{family.code}-{variety.code}"
    rng = random.Random(f"cpu-demo:{spec.handle}:{ref}")
    place = line.place or spec.place
    languages = ["en", *(language for language in spec.languages if language != "en")]
    description = variety.description or family.description
    roll = rng.random()
    visibility = "b2b" if variety.b2b or roll < 0.04 else "hidden" if roll > 0.96 else "public"
    axis = family.axis if variety.axis is None else variety.axis or None
    choices = axis[1] if axis else ((None, None),)
    level = variety.price * line.price * rng.uniform(0.92, 1.12)
    variants = []
    for size in variety.sizes or family.sizes:
        for code, value in choices:
            variants.append(_variant(spec, rng, ref, size, level, currency, line.origin or spec.country, variety.hs or family.hs,
                                     round(size.weight_g * variety.weight), option=(axis[0], code, value) if axis else None))
    return {
        "ref": ref,
        "category": family.category,
        "title": {lang: family.title[lang].format(v=variety.names[lang], place=place) for lang in languages},
        "description": {lang: description[lang] for lang in languages},
        "image_urls": [],
        "visibility": visibility,
        "ships_to_exclusions": sorted(set(family.excluded) | set(variety.excluded)),
        "variants": variants,
    }


def _variant(spec, rng, ref, size: Size, level: float, currency: str, origin: str, hs_code: str, weight_g: int, option) -> dict:
    options = dict(size.options)
    sku = f"{spec.sku_prefix}-{ref}-{size.code}"
    if option:
        name, code, value = option
        options[name] = value
        sku += f"-{code}"
    exponent = minor_units(currency)
    base = _rounded(size.usd * level * RATES[currency] * 10**exponent / 100, exponent)
    tiers, previous = [], base
    for quantity, percent_off in size.tiers:
        price = min(_rounded(base * (100 - percent_off) / 100, exponent), previous - _step(previous, exponent))
        tiers.append({"min_quantity": quantity, "unit_price": price})
        previous = price
    stock = {}
    for n, location in enumerate(spec.locations):
        if n and rng.random() < 0.3:
            continue  # not every item is kept at the second location
        typical = size.stock if n == 0 else max(size.stock // 3, size.case_pack)
        units = 0 if rng.random() < 0.05 else rng.randint(typical // 4, typical * 2)
        stock[location] = units - units % size.case_pack
    length, width, height = size.dims
    return {
        "sku": sku, "options": options, "base_price": base, "tiers": tiers, "moq": size.moq, "case_pack": size.case_pack,
        "hs_code": hs_code, "origin_country": origin, "weight_g": weight_g,
        "length_mm": length, "width_mm": width, "height_mm": height, "stock": stock,
    }


def _step(amount: float, exponent: int) -> int:
    """A price step that looks natural at this size: 0.05, 0.25, 1, 5 or 50 currency units."""
    major = amount / 10**exponent
    step = 0.05 if major < 10 else 0.25 if major < 100 else 1 if major < 1000 else 5 if major < 10_000 else 50
    return max(1, round(step * 10**exponent))


def _rounded(amount: float, exponent: int) -> int:
    step = _step(amount, exponent)
    return max(1, round(amount / step)) * step


def company_id(name: str) -> str:
    """A buyer company id (cmp_ + a ULID's 26 Crockford base-32 characters) derived from its name."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    number = random.Random(f"cpu-demo:company:{name}").getrandbits(128)
    return "cmp_" + "".join(alphabet[(number >> shift) & 31] for shift in range(125, -1, -5))


# Loading ---------------------------------------------------------------------------------------

@dataclass
class Summary:
    merchants: int = 0
    products: int = 0
    variants: int = 0
    merchants_created: int = 0
    products_written: int = 0  # created or changed
    price_lists_created: int = 0
    unavailable: list[str] = field(default_factory=list)  # handles skipped because their region was down


def load(router: Router, report: Callable[[str], None] = print) -> Summary:
    """Create or update the demo merchants and their catalogues, reporting one line per
    merchant and then how to sign in. The output is the same on every run.

    Nearly all of the time goes into hashing the 30 owners' passwords (argon2) on the first
    run; the catalogue is one unit of work per merchant and a rerun only reads.
    """
    if router.settings.env == "production":
        raise click.ClickException(f"demo data (with the published password {DEMO_PASSWORD!r}) is refused in production")
    summary = Summary()
    for spec in MERCHANTS:
        try:
            merchant_id, region = _merchant(router, spec, summary)
            products = catalogue(spec, router.regions.member(spec.country).currency)
            ids = _write_catalogue(router, merchant_id, region, products, summary)
            _write_price_lists(router, Principal(merchant_id=merchant_id, region=region, role="owner"), spec, products, ids, summary)
        except RegionUnavailable:
            summary.unavailable.append(spec.handle)
            report(f"{router.regions.member(spec.country).region:<4} {spec.handle}: region unavailable, skipped")
            continue
        count = sum(len(p["variants"]) for p in products)
        summary.merchants += 1
        summary.products += len(products)
        summary.variants += count
        report(f"{region:<4} {merchant_id}  {spec.name} ({spec.country}): {len(products)} products, {count} variants")
    if summary.unavailable:
        raise click.ClickException(f"{len(summary.unavailable)} merchant(s) skipped while their region was down; run `cpu demo` again")
    showcase = next(spec for spec in MERCHANTS if spec.handle == SHOWCASE)
    report(
        f"{summary.merchants} demo merchants, {summary.products} products, {summary.variants} variants. "
        f"Sign in as {showcase.email} with the demo-only password {DEMO_PASSWORD!r} (every demo account has it; "
        f"never use it for anything real); storefront: /s/{showcase.handle}"
    )
    return summary


def _merchant(router: Router, spec: DemoMerchant, summary: Summary) -> tuple[str, str]:
    """The demo merchant with this handle, signed up first when there is none."""
    try:
        found = accounts.merchant_for_handle(router=router, handle=spec.handle)
        return found.id, found.region
    except MerchantNotFound:
        pass
    try:
        principal = accounts.sign_up(
            router=router, trading_name=spec.name, legal_name=spec.legal_name, home_country=spec.country,
            email=spec.email, password=DEMO_PASSWORD, handle=spec.handle, languages=list(spec.languages),
        )
    except Conflict:  # another loader signed it up a moment ago
        found = accounts.merchant_for_handle(router=router, handle=spec.handle)
        return found.id, found.region
    summary.merchants_created += 1
    return principal.merchant_id, principal.region


def _write_catalogue(router: Router, merchant_id: str, region: str, products: list[dict], summary: Summary) -> dict[str, str]:
    """Upsert the products by ref in one unit of work; returns the variant id of every SKU."""
    for data in products:
        problems = catalog.product_problems(data)
        if problems:
            raise InvalidInput(f"Demo product {data['ref']} is not valid.", errors=problems)
    with router.unit_of_work(region) as uow:
        merchant = uow.session.get(Merchant, merchant_id)
        existing = {p.ref: p for p in uow.session.scalars(select(Product).where(Product.merchant_id == merchant_id))}
        written, changes = [], 0
        for data in products:
            product, changed = catalog.write_product(uow.session, merchant, data, existing.get(data["ref"]))
            written.append(product)
            changes += changed
        if changes:
            uow.commit()
        summary.products_written += changes
        return {variant.sku: variant.id for product in written for variant in product.variants}


def _write_price_lists(router: Router, principal: Principal, spec: DemoMerchant, products: list[dict], ids: dict[str, str],
                       summary: Summary) -> None:
    wanted = [p for p in PRICE_LISTS if p.handle == spec.handle]
    if not wanted:
        return
    present = {p.name for p in catalog.list_price_lists(router=router, principal=principal)}
    for price_list in wanted:
        if price_list.name in present:
            continue
        contract = _contract_prices(price_list, products, ids)
        catalog.create_price_list(router=router, principal=principal, data={
            "name": price_list.name, "company_ids": [_company(router, name, spec.country) for name in price_list.buyers],
            "valid_from": PRICE_LISTS_FROM, "valid_until": price_list.valid_until,
            "percent_off_bp": price_list.percent_off_bp, "contract_prices": contract,
        })
        summary.price_lists_created += 1


def _company(router: Router, name: str, country: str) -> str:
    """The id of the made-up buyer company `name`, opened (with an admin who signs in with a
    demo-only password) the first time; a later load replays the same sign-up by its key."""
    slug = company_id(name)[-12:].lower()
    admin = buyer_accounts.sign_up(router=router, email=f"buyer-{slug}@demo.example", password=DEMO_PASSWORD, name=name,
                                   home_country=country, company={"name": name, "tax_registration_number": slug.upper()},
                                   idempotency_key=f"demo-company:{slug}")
    return admin.company_id


def _contract_prices(price_list: DemoPriceList, products: list[dict], ids: dict[str, str]) -> dict[str, int]:
    """Up to 12 variants of the list's sizes, at its percentage off their lowest tier price."""
    prices = {}
    for variant in (v for p in products for v in p["variants"]):
        size = variant["sku"].split("-")[3]  # PREFIX-FAMILY-VARIETY-SIZE[-OPTION]
        if size in price_list.contract_sizes and len(prices) < 12:
            lowest = min([variant["base_price"], *(t["unit_price"] for t in variant["tiers"])])
            prices[ids[variant["sku"]]] = lowest * (100 - price_list.contract_off) // 100
    return prices
