"""What search costs: indexing a catalogue, and answering a typical query mix through the
Python API and over HTTP, each against a baseline measured in the same run.

Run by hand from the repository root (no server needed, everything lives in a temp dir):

    .venv/bin/python bench/search.py [--products 100000] [--queries 600] [--duration 10]
                                     [--loader auto|wrk|python]

1. Indexing: N generated SearchDocuments (leaf categories of marketplace/catalog/taxonomy.toml,
   titles and descriptions in en/es/fr/nl from a small vocabulary of Caribbean goods, 1-4
   variants, prices in the merchant's currency, origins, ~10% B2B-only, ~8% with shipping
   exclusions) go through `EmbeddedEngine(path).rebuild(docs)`. Goal: >= 10,000 documents/s.
   Baseline: json.dumps of the same documents' dicts (as_dict), the floor of touching them.
2. Python API latency p50/p95/p99 of a query mix: free text (one or two words, ~20% with a
   one-letter typo) + category + origin countries, audience=retail, facets on. Goal: p95 <
   25 ms. Baseline: `engine.search(SearchQuery(facets=False))`, match-all without facets.
3. HTTP: the same mix as `GET /api/v1/search?q=..&category=..&origin=..` against gunicorn
   (`wsgi:app`, --workers 1 --threads 4) on a temp instance whose index was built before the
   server started (only one process writes a tantivy index). Load (bench/loadgen.py): 4
   keep-alive connections cycling through the mix's URLs for --duration seconds, from `wrk`
   when it is on PATH (it costs the server far less CPU than a Python client), else from an
   http.client generator in a separate process; --loader chooses, the section heading names
   it. Goal: p95 < 50 ms. Baseline: `/healthz` on the same server under the same load.

Ratios are "measured / baseline" for times and "measured / baseline" req/s for throughput.
The server and the load generator share the machine's cores: compare ratios between runs
on one machine; the goals are absolute.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from payments import fx  # noqa: E402
from search.documents import SearchDocument, VariantDoc  # noqa: E402
from search.engines.embedded import EmbeddedEngine  # noqa: E402
from search.query import SearchQuery  # noqa: E402

# bench/loadgen.py: bench/ is sys.path[1] once the repository root is put before it
from loadgen import Load, add_loader_argument, gunicorn, http_get, load, loader_label, percentile, server_env  # noqa: E402

INDEX_GOAL = 10_000  # documents/s
API_P95_GOAL = 25.0  # ms
HTTP_P95_GOAL = 50.0  # ms
CONNECTIONS = 4

# --- data -------------------------------------------------------------------------------------

# (en, es, fr, nl) product nouns per leaf category.
GOODS: dict[str, list[tuple[str, str, str, str]]] = {
    "food/coffee": [("Blue Mountain coffee", "café Blue Mountain", "café Blue Mountain", "Blue Mountain koffie"),
                    ("espresso beans", "granos de espresso", "grains d'espresso", "espressobonen"),
                    ("ground coffee", "café molido", "café moulu", "gemalen koffie")],
    "food/cocoa-chocolate": [("dark chocolate", "chocolate negro", "chocolat noir", "pure chocolade"),
                             ("cocoa nibs", "nibs de cacao", "éclats de cacao", "cacaonibs"),
                             ("cocoa tea balls", "bolas de cacao", "boules de cacao", "cacaoballen")],
    "food/spices": [("nutmeg", "nuez moscada", "noix de muscade", "nootmuskaat"),
                    ("allspice", "pimienta de Jamaica", "piment de la Jamaïque", "piment"),
                    ("cinnamon sticks", "canela en rama", "bâtons de cannelle", "kaneelstokjes"),
                    ("jerk seasoning", "sazón jerk", "assaisonnement jerk", "jerkkruiden")],
    "food/hot-sauces": [("scotch bonnet pepper sauce", "salsa de ají scotch bonnet", "sauce piment scotch bonnet", "scotch bonnet pepersaus"),
                        ("habanero hot sauce", "salsa picante de habanero", "sauce piquante habanero", "habanero hete saus"),
                        ("mango pepper sauce", "salsa de mango y ají", "sauce mangue piment", "mango pepersaus")],
    "food/sugar-syrups": [("cane sugar", "azúcar de caña", "sucre de canne", "rietsuiker"),
                          ("molasses", "melaza", "mélasse", "melasse"),
                          ("sorrel syrup", "jarabe de flor de Jamaica", "sirop d'oseille", "zuringsiroop")],
    "food/preserves": [("guava jam", "mermelada de guayaba", "confiture de goyave", "guavejam"),
                       ("mango chutney", "chutney de mango", "chutney de mangue", "mangochutney"),
                       ("pineapple preserves", "conserva de piña", "confiture d'ananas", "ananasconfituur")],
    "beverages/rum": [("aged rum", "ron añejo", "rhum vieux", "oude rum"),
                      ("white rum", "ron blanco", "rhum blanc", "witte rum"),
                      ("spiced rum", "ron especiado", "rhum épicé", "gekruide rum")],
    "beverages/tea-infusions": [("hibiscus tea", "té de hibisco", "thé d'hibiscus", "hibiscusthee"),
                                ("lemongrass infusion", "infusión de hierba luisa", "infusion de citronnelle", "citroengrasthee"),
                                ("soursop leaf tea", "té de hoja de guanábana", "thé de corossol", "zuurzakthee")],
    "beverages/juices": [("passion fruit juice", "jugo de maracuyá", "jus de maracuja", "passievruchtensap"),
                         ("coconut water", "agua de coco", "eau de coco", "kokoswater"),
                         ("ginger beer", "cerveza de jengibre", "bière de gingembre", "gemberbier")],
    "textiles/clothing": [("linen shirt", "camisa de lino", "chemise en lin", "linnen overhemd"),
                          ("guayabera", "guayabera", "guayabera", "guayabera"),
                          ("batik dress", "vestido batik", "robe batik", "batikjurk")],
    "textiles/madras": [("madras fabric", "tela madrás", "tissu madras", "madrasstof"),
                        ("madras headscarf", "pañuelo madrás", "foulard madras", "madrashoofddoek")],
    "crafts/woodwork": [("mahogany bowl", "cuenco de caoba", "bol en acajou", "mahoniehouten schaal"),
                        ("carved mask", "máscara tallada", "masque sculpté", "gesneden masker")],
    "crafts/baskets": [("straw basket", "canasta de paja", "panier en paille", "strooien mand"),
                       ("woven hat", "sombrero tejido", "chapeau tressé", "gevlochten hoed")],
    "crafts/art": [("papier-mâché carnival mask", "máscara de carnaval de papel maché", "masque de carnaval en papier mâché", "carnavalsmasker van papier-maché"),
                   ("painted canvas", "lienzo pintado", "toile peinte", "beschilderd doek")],
    "beauty/soaps-oils": [("coconut oil soap", "jabón de aceite de coco", "savon à l'huile de coco", "kokosoliezeep"),
                          ("castor oil", "aceite de ricino", "huile de ricin", "ricinusolie"),
                          ("aloe vera gel", "gel de aloe vera", "gel d'aloe vera", "aloë vera gel")],
}
ADJECTIVES = [("organic", "orgánico", "bio", "biologisch"), ("handmade", "artesanal", "artisanal", "handgemaakt"),
              ("premium", "premium", "premium", "premium"), ("small batch", "pequeño lote", "petit lot", "kleine batch"),
              ("traditional", "tradicional", "traditionnel", "traditioneel"), ("fair trade", "comercio justo", "équitable", "fairtrade")]
DESCRIBE = ("{} from {}, made by a family business.", "{} de {}, hecho por una empresa familiar.",
            "{} de {}, fait par une entreprise familiale.", "{} uit {}, gemaakt door een familiebedrijf.")
LANGS = ("en", "es", "fr", "nl")
# origin country, merchant region, currency
ORIGINS = [("JM", "kin", "JMD"), ("DO", "sdq", "DOP"), ("HT", "sdq", "HTG"), ("SX", "sxm", "ANG"), ("AG", "sxm", "XCD"),
           ("MQ", "fdf", "EUR"), ("GP", "fdf", "EUR"), ("BB", "bgi", "BBD"), ("LC", "bgi", "XCD"), ("TT", "pos", "TTD"),
           ("CW", "pos", "XCG"), ("AW", "pos", "AWG")]
COUNTRY_NAMES = {"JM": "Jamaica", "DO": "Dominican Republic", "HT": "Haiti", "SX": "Sint Maarten", "AG": "Antigua",
                 "MQ": "Martinique", "GP": "Guadeloupe", "BB": "Barbados", "LC": "Saint Lucia", "TT": "Trinidad",
                 "CW": "Curaçao", "AW": "Aruba"}
SIZES = ["100 g", "250 g", "500 g", "1 kg", "200 ml", "375 ml", "750 ml", "S", "M", "L", "XL"]


def taxonomy() -> list[str]:
    data = tomllib.loads((ROOT / "marketplace/catalog/taxonomy.toml").read_text(encoding="utf-8"))
    return sorted(data["categories"])


def _path(slug: str) -> list[str]:
    parts = slug.split("/")
    return ["/".join(parts[: n + 1]) for n in range(len(parts))]


def generate(n: int, seed: int = 7) -> list[SearchDocument]:
    rnd = random.Random(seed)
    slugs = taxonomy()
    leaves = [s for s in slugs if not any(o.startswith(s + "/") for o in slugs)]
    missing = [s for s in leaves if s not in GOODS]
    if missing:
        raise SystemExit(f"no vocabulary for categories {missing}")
    rates = fx.rates()
    merchants = []
    for m in range(max(50, n // 200)):
        country, region, currency = rnd.choice(ORIGINS)
        merchants.append((f"m{m:06d}", f"{rnd.choice(['Island', 'Sunrise', 'Coral', 'Trade Wind', 'Harbour', 'Palm'])} "
                          f"{rnd.choice(['Goods', 'Traders', 'Kitchen', 'Crafts', 'Co-op', 'Estate'])} {m}",
                          f"shop-{m}" if m % 3 else None, region, currency, country))
    docs = []
    for i in range(n):
        mid, mname, handle, region, currency, home = rnd.choice(merchants)
        category = rnd.choice(leaves)
        noun = rnd.choice(GOODS[category])
        adjective = rnd.choice(ADJECTIVES) if rnd.random() < 0.6 else None
        origin = home if rnd.random() < 0.8 else rnd.choice(ORIGINS)[0]
        title = {lang: (f"{adjective[k]} {noun[k]}" if adjective else noun[k]).capitalize() for k, lang in enumerate(LANGS)}
        description = {lang: DESCRIBE[k].format(noun[k].capitalize(), COUNTRY_NAMES[origin]) for k, lang in enumerate(LANGS)}
        base = rnd.randint(300, 15_000) * (100 if currency in ("JMD", "DOP", "HTG") else 1)
        variants = []
        for v in range(rnd.randint(1, 4)):
            price = base + v * rnd.randint(100, 2000)
            variants.append(VariantDoc(f"v{i:08d}{v}", f"SKU-{i}-{v}", {"size": rnd.choice(SIZES)}, price,
                                       [{"min_qty": 12, "price": price * 9 // 10}] if rnd.random() < 0.3 else [],
                                       rnd.choice([1, 1, 6, 12]), rnd.choice([1, 6, 12, 24]), rnd.random() < 0.9))
        cheapest = min(v.price for v in variants)
        docs.append(SearchDocument(
            id=f"p{i:08d}", merchant_id=mid, merchant_name=mname, merchant_handle=handle, merchant_region=region,
            category=category, category_path=_path(category), title=title, description=description,
            attributes=sorted({x for v in variants for x in v.options.values()}),
            origin_countries=sorted({origin} | ({rnd.choice(ORIGINS)[0]} if rnd.random() < 0.1 else set())),
            ships_to_exclusions=sorted(rnd.sample(["US", "CA", "GB", "NL", "FR", "VE"], rnd.randint(1, 2))) if rnd.random() < 0.08 else [],
            b2b_only=rnd.random() < 0.1, currency=currency, price=cheapest,
            price_usd=rates.convert(cheapest, currency, "USD") if rates.knows(currency) else 0,
            in_stock=any(v.in_stock for v in variants), popularity=rnd.randint(0, 500) if rnd.random() < 0.5 else 0,
            created_at=f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T12:00:00+00:00", variants=variants,
            version=1))
    return docs


def _typo(word: str, rnd: random.Random) -> str:
    """One substituted letter in the middle of a word of six letters or more."""
    k = rnd.randint(2, len(word) - 3)
    return word[:k] + ("e" if word[k] != "e" else "a") + word[k + 1:]


def query_mix(count: int, seed: int = 11) -> list[dict]:
    """Text (1-2 words, ~20% with one typo) + category (leaf or its parent) + 1-2 origins."""
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        category = rnd.choice(sorted(GOODS))
        k = rnd.randrange(4)
        words = [w for w in rnd.choice(GOODS[category])[k].replace("'", " ").split() if len(w) > 2]
        text = " ".join(words[:2]) if rnd.random() < 0.5 else words[0]
        if rnd.random() < 0.2:
            long = [w for w in text.split() if len(w) >= 6]
            if long:
                text = text.replace(long[0], _typo(long[0], rnd), 1)
        out.append({"text": text, "language": LANGS[k],
                    "category": category if rnd.random() < 0.7 else category.split("/")[0],
                    "origins": tuple(sorted({o[0] for o in rnd.sample(ORIGINS, rnd.randint(1, 2))}))})
    return out


# --- helpers ----------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def load_line() -> str:
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load average n/a"


# --- 1. indexing ------------------------------------------------------------------------------

def bench_index(docs: list[SearchDocument], tmp: Path) -> None:
    print(f"\n1. indexing {len(docs):,} documents (EmbeddedEngine.rebuild)")
    start = time.perf_counter()
    size = sum(len(json.dumps(d.as_dict())) for d in docs)
    base = time.perf_counter() - start
    engine = EmbeddedEngine(tmp / "index1")
    start = time.perf_counter()
    count = engine.rebuild(docs).indexed
    took = time.perf_counter() - start
    assert count == len(docs) == engine.count(), (count, engine.count())
    rate = count / took
    print(f"   baseline json.dumps(as_dict): {base:8.2f} s  {len(docs) / base:12,.0f} docs/s  ({size / 1e6:.1f} MB JSON)")
    print(f"   rebuild:                      {took:8.2f} s  {rate:12,.0f} docs/s")
    print(f"   ratio rebuild / baseline time: {took / base:.1f}x")
    print(f"   goal >= {INDEX_GOAL:,} docs/s: {verdict(rate >= INDEX_GOAL)}")


# --- 2. Python API ----------------------------------------------------------------------------

def api_query(q: dict) -> SearchQuery:
    return SearchQuery(text=q["text"], language=q["language"], category=q["category"],
                       origin_countries=q["origins"], audience="retail", facets=True)


def timed(engine: EmbeddedEngine, queries: list[SearchQuery]) -> tuple[list[float], list]:
    times, results = [], []
    for query in queries:
        start = time.perf_counter()
        result = engine.search(query)
        times.append((time.perf_counter() - start) * 1000)
        results.append(result)
    return times, results


def report(label: str, ms: list[float]) -> None:
    ordered = sorted(ms)
    print(f"   {label:<34} n={len(ms):<6} p50 {percentile(ordered, 50):7.2f} ms  p95 {percentile(ordered, 95):7.2f} ms  p99 {percentile(ordered, 99):7.2f} ms  mean {statistics.fmean(ms):7.2f} ms")


def bench_api(tmp: Path, mix: list[dict]) -> None:
    print(f"\n2. Python API latency, {len(mix)} queries (text + category + origin + facets, retail)")
    engine = EmbeddedEngine(tmp / "index1")  # a fresh reader on the built index
    queries = [api_query(q) for q in mix]
    timed(engine, queries[:50])  # warm-up
    timed(engine, [SearchQuery(facets=False)] * 50)
    base, _ = timed(engine, [SearchQuery(facets=False)] * len(queries))
    ms, results = timed(engine, queries)
    report("baseline SearchQuery() no facets", base)
    report("query mix", ms)
    typos = [i for i, q in enumerate(mix) if any(w not in " ".join(x[LANGS.index(q["language"])] for g in GOODS.values() for x in g).lower().replace("'", " ").split()
                                               for w in q["text"].lower().split())]
    corrected = sum(1 for i in typos if results[i].corrected_terms)
    empty = sum(1 for r in results if r.total == 0)
    print(f"   queries with a typo: {len(typos)} ({corrected} corrected); queries finding nothing: {empty}; "
          f"mean total {statistics.fmean(r.total for r in results):,.0f}")
    ms, base = sorted(ms), sorted(base)
    print(f"   ratio p50 {percentile(ms, 50) / percentile(base, 50):.1f}x, p95 {percentile(ms, 95) / percentile(base, 95):.1f}x the baseline")
    print(f"   goal p95 < {API_P95_GOAL:.0f} ms: {verdict(percentile(ms, 95) < API_P95_GOAL)}")


# --- 3. HTTP ----------------------------------------------------------------------------------

def bench_http(docs: list[SearchDocument], tmp: Path, mix: list[dict], seconds: int, loader: str) -> None:
    print(f"\n3. HTTP under gunicorn (--workers 1 --threads 4); load: {loader_label(loader)}; "
          f"{CONNECTIONS} keep-alive connections, {seconds} s each")
    instance = tmp / "instance"
    env = server_env({"CPU_INSTANCE_PATH": str(instance), "CPU_RELAY_IN_PROCESS": "false", "CPU_LOG_LEVEL": "WARNING"})
    prepare_instance(docs, instance, env)
    paths = search_paths(mix)
    with gunicorn("wsgi:app", workers=1, threads=4, env=env, log=tmp / "gunicorn.log", check_path="/healthz") as port:
        check_search(port, paths)
        base = load(port, ["/healthz"], seconds, CONNECTIONS, loader)
        measured = load(port, paths, seconds, CONNECTIONS, loader)
    report_http(base, measured)


def report_http(base: Load, measured: Load) -> None:
    for label, result in (("baseline /healthz", base), ("/api/v1/search mix", measured)):
        if result.p95_ms is None:
            raise SystemExit(f"{label}: no request succeeded ({result.errors} errors)")
        print(f"   {label:<20} {result.rps:8.0f} req/s  p50 {result.p50_ms:7.2f} ms  p95 {result.p95_ms:7.2f} ms  "
              f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}")
    print(f"   ratio req/s {measured.rps / base.rps:.3f} of the baseline; p95 {measured.p95_ms / base.p95_ms:.1f}x the baseline")
    print(f"   goal p95 < {HTTP_P95_GOAL:.0f} ms: {verdict(measured.p95_ms < HTTP_P95_GOAL and not measured.errors)}")


def prepare_instance(docs: list[SearchDocument], instance: Path, env: dict[str, str]) -> None:
    """Migrated databases and the index, built before the server starts: only one process
    writes a tantivy index."""
    instance.mkdir()
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "cpu", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    EmbeddedEngine(instance / "search").rebuild(docs)
    print(f"   instance {instance}: migrated, index built in {time.perf_counter() - start:.1f} s")


def search_paths(mix: list[dict]) -> list[str]:
    paths = []
    for q in mix:
        params = [("q", q["text"]), ("lang", q["language"]), ("category", q["category"])] + [("origin", o) for o in q["origins"]]
        paths.append("/api/v1/search?" + urllib.parse.urlencode(params))
    return paths


def check_search(port: int, paths: list[str]) -> None:
    """Sanity and warm-up: the server reads the index built, and the first URLs answer 200."""
    status, body = http_get(port, "/api/v1/search", timeout=30)
    if status != 200:
        raise SystemExit(f"/api/v1/search answered {status}: {body[:300]!r}")
    print(f"   match-all over HTTP: total {json.loads(body)['total']:,} (retail: B2B-only products hidden)")
    for path in paths[:50]:
        status, _ = http_get(port, path, timeout=30)
        if status != 200:
            raise SystemExit(f"{path} answered {status}")


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--duration", type=int, default=10, help="seconds of HTTP load per target (default 10)")
    add_loader_argument(parser)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"bench/search.py  products={args.products:,}  cpus={os.cpu_count()}  python {sys.version.split()[0]}  {load_line()}")
    try:
        start = time.perf_counter()
        docs = generate(args.products)
        print(f"generated {len(docs):,} documents in {time.perf_counter() - start:.1f} s "
              f"({sum(d.b2b_only for d in docs):,} B2B-only, {sum(bool(d.ships_to_exclusions) for d in docs):,} with shipping exclusions)")
        mix = query_mix(args.queries)
        bench_index(docs, tmp)
        bench_api(tmp, mix)
        bench_http(docs, tmp, mix, max(1, args.duration), args.loader)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"\n{load_line()}; temp dir {tmp} removed")


if __name__ == "__main__":
    main()
