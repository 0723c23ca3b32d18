"""Settings, read once at start: defaults, then instance/config.toml, then the environment,
then a mapping given by the caller (tests). Every problem is reported together, by name.

Outside the embedded default the service refuses to start without real secrets and
PostgreSQL URLs: there is no development fallback in production.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import tomllib
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from marketplace.mail import mail_url
from marketplace.regions import regionmap

ENVIRONMENTS = ("embedded", "production")
EMBEDDED_SECRET = "embedded-default-not-secret"
EMBEDDED_LOOKUP_KEY = "embedded-default-lookup-not-secret"
EMBEDDED_WEBHOOK_KEY = "embedded-default-webhook-sealing-not-secret"
RATE_LIMIT_STORAGES = ("memory", "redis", "rediss")  # where sign-in attempts are counted
# The shards sit in other data centers: production talks to them only over TLS. verify-full
# also checks the server's certificate and name; require encrypts but trusts any server.
VERIFIED_SSLMODE = "verify-full"
UNVERIFIED_SSLMODE = "require"

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """The configuration is missing or malformed; the message names every bad setting."""


@dataclass(frozen=True)
class Settings:
    env: str
    instance_path: Path
    regions_file: Path
    database_urls: dict[str, str]
    directory_url: str
    secret_key: str = field(repr=False)  # signs session cookies and CSRF tokens
    max_body_bytes: int
    region_retry_after: int
    db_connect_timeout: int
    db_pool_size: int
    db_request_deadline: float
    db_background_deadline: float
    relay_in_process: bool
    relay_interval: float
    outbox_retention_days: int
    schema_check: bool
    log_level: str
    rate_limit_storage: str = field(default="memory://", repr=False)
    trusted_proxies: int = 0
    public_url: str = ""  # https://market.example: links in emails; empty: the request's own host
    elasticsearch_url: str | None = field(default=None, repr=False)
    # nats://host:4222, this data center's JetStream broker (may carry a token); unset: events in process
    broker_url: str | None = field(default=None, repr=False)
    max_api_keys: int = 25  # active keys per merchant
    max_staff_users: int = 50  # staff users (owners included) per merchant
    principal_cache_seconds: float = 5.0  # how long an API key's principal is trusted without a look
    stock_hold_seconds: int = 900  # how long a checkout's stock reservation holds before it is released
    checkout_deadline_seconds: int = 120  # how long a checkout waits for every merchant region's answer
    # Keys the directory's email digests: a key of its own, so the cookie-signing key can be
    # rotated (old ones kept as fallbacks a while) without making every email unfindable.
    email_lookup_key: str = field(default=EMBEDDED_LOOKUP_KEY, repr=False)
    secret_key_fallbacks: tuple[str, ...] = field(default=(), repr=False)
    mail_url: str = field(default="", repr=False)  # may hold the SMTP password
    mail_from: str = "CPU Marketplace <no-reply@localhost>"
    mail_timeout: float = 10.0  # seconds an SMTP server may take; a reset request waits for it
    # Seals the merchants' webhook signing secrets at rest (AES-GCM): a key of its own, so a
    # leaked database alone signs nothing, and rotating the cookie key leaves hooks working.
    webhook_sealing_key: str = field(default=EMBEDDED_WEBHOOK_KEY, repr=False)
    webhook_timeout: float = 5.0  # seconds a merchant's endpoint may take to answer one delivery
    # The one region a process belongs to (a data center's servers, relays and consumers);
    # None: the embedded default, every region in one process.
    region: str | None = None
    # True: directory_url is this region's own copy of the directory, kept up to date from the
    # other regions' pointer events, with names arbitrated over the broker (docs/decisions/0004).
    # False: one directory database shared by every process (the embedded default).
    directory_copy: bool = False
    arbiter_timeout: float = 1.0  # seconds a name's arbiter region may take to answer over the broker
    # The bearer token of the operator view (GET /api/v1/operator/regions); empty: no access.
    operator_token: str = field(default="", repr=False)
    # Stripe (payments/stripe): the platform's secret key (empty: no card payments unless the
    # stand-in card is on; the offline methods need no key), the webhook endpoint's signing
    # secret, and an API address other than Stripe's (a local server in tests).
    # Events of connected accounts (account.updated) come from a Connect endpoint, which Stripe signs
    # with a secret of its own: the same URL registered twice, each secret verifies its own events.
    stripe_secret_key: str = field(default="", repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_connect_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = ""
    # CPU_STANDIN_CARD: cards are "paid" by the stand-in, which authorises every card at once and
    # charges nothing (payments.gateways.StandInCard). On by default only in the embedded default
    # on SQLite files without Stripe (a demo on one machine); on PostgreSQL it must be asked for,
    # since that may be a real deployment left at CPU_ENV=embedded; refused in production and
    # with a Stripe key.
    standin_card: bool = False
    # Each postal operator's webhook signing secret (CPU_POSTAL_SECRET_<OPERATOR>, operators in
    # logistics/postal_operators.toml); the embedded default's are public placeholders. In
    # production an operator without one is refused (like an empty operator token), not a
    # reason to stay down: the other operators' parcels must still be tracked.
    postal_secrets: dict[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # secrets and passwords never reach a log line
        urls = {k: mask_url(v) for k, v in self.database_urls.items()}
        return f"Settings(env={self.env!r}, region={self.region!r}, databases={urls}, directory={mask_url(self.directory_url)!r})"


def mask_url(url: str) -> str:
    """A database URL with its password replaced, fit for logs and command output."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


def instance_path(environ: Mapping[str, object] | None = None) -> Path:
    """The instance folder: CPU_INSTANCE_PATH, else ./instance, made absolute.

    The server (create_app), the `cpu` command and gunicorn's config (its control socket) all
    ask here, so one setting points all three at the same SQLite files and search index.
    """
    environ = os.environ if environ is None else environ
    return Path(str(environ.get("CPU_INSTANCE_PATH") or "instance")).resolve()


def load(overrides: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    folder = instance_path(ChainMap(overrides, environ))
    values: dict[str, object] = {}
    values.update(_read_instance_file(folder / "config.toml"))
    values.update({k: v for k, v in environ.items() if k.startswith("CPU_") or k == "ELASTICSEARCH_URL"})
    values.update(overrides)
    return _build(values, folder)


def _read_instance_file(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


class _Reader:
    """Collects every problem instead of stopping at the first."""

    def __init__(self, values: Mapping[str, object]):
        self.values = values
        self.problems: list[str] = []

    def text(self, name: str, default: str) -> str:
        return str(self.values.get(name, default)).strip()

    def number(self, name: str, default: float, *, minimum: float, kind: type = int):
        raw = self.values.get(name, default)
        try:
            value = kind(raw)
        except (TypeError, ValueError):
            self.problems.append(f"{name}={raw!r} is not a {'whole ' if kind is int else ''}number")
            return default
        if value < minimum:
            self.problems.append(f"{name}={raw!r} must be at least {minimum}")
            return default
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.values.get(name, default)
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        self.problems.append(f"{name}={raw!r} is not true or false")
        return default


def _build(values: Mapping[str, object], instance_path: Path) -> Settings:
    read = _Reader(values)
    env = read.text("CPU_ENV", "embedded")
    if env not in ENVIRONMENTS:
        read.problems.append(f"CPU_ENV={env!r} must be one of {', '.join(ENVIRONMENTS)}")
    regions_file = Path(read.text("CPU_REGIONS_FILE", str(regionmap.DEFAULT_REGIONS_FILE)))
    try:
        region_codes = regionmap.load(regions_file).region_codes
    except regionmap.RegionMapError as exc:
        read.problems.append(str(exc))
        region_codes = ()
    region = read.text("CPU_REGION", "") or None
    if region is not None and region not in region_codes:
        read.problems.append(f"CPU_REGION={region!r} is not a region of the map ({', '.join(region_codes)})")
        region = None
    # A region's process never connects to another region's shard, so it needs no URL for one.
    database_urls = {code: _database_url(read, code, instance_path, env)
                     for code in region_codes if region is None or code == region}
    directory_url = _database_url(read, "directory", instance_path, env)
    secret_key = read.text("CPU_SECRET_KEY", EMBEDDED_SECRET)
    email_lookup_key = read.text("CPU_EMAIL_LOOKUP_KEY", EMBEDDED_LOOKUP_KEY)
    webhook_sealing_key = read.text("CPU_WEBHOOK_SEALING_KEY", EMBEDDED_WEBHOOK_KEY)
    if env == "production":
        for name, value, placeholder in (("CPU_SECRET_KEY", secret_key, EMBEDDED_SECRET),
                                         ("CPU_EMAIL_LOOKUP_KEY", email_lookup_key, EMBEDDED_LOOKUP_KEY),
                                         ("CPU_WEBHOOK_SEALING_KEY", webhook_sealing_key, EMBEDDED_WEBHOOK_KEY)):
            if value == placeholder or len(value) < 32:
                read.problems.append(f"{name} must be set to a random value of at least 32 characters in production")
    public_url = read.text("CPU_PUBLIC_URL", "").rstrip("/")
    stripe_secret_key = read.text("CPU_STRIPE_SECRET_KEY", "")
    if secret_key == email_lookup_key:
        read.problems.append("CPU_EMAIL_LOOKUP_KEY must differ from CPU_SECRET_KEY")
    settings = Settings(
        env=env,
        instance_path=instance_path,
        regions_file=regions_file,
        database_urls=database_urls,
        directory_url=directory_url,
        secret_key=secret_key,
        max_body_bytes=read.number("CPU_MAX_BODY_BYTES", 1_048_576, minimum=1024),
        region_retry_after=read.number("CPU_REGION_RETRY_AFTER", 5, minimum=1),
        db_connect_timeout=read.number("CPU_DB_CONNECT_TIMEOUT", 2, minimum=1),
        db_pool_size=read.number("CPU_DB_POOL_SIZE", 5, minimum=1),
        db_request_deadline=read.number("CPU_DB_REQUEST_DEADLINE", 0.75, minimum=0.05, kind=float),
        db_background_deadline=read.number("CPU_DB_BACKGROUND_DEADLINE", 30.0, minimum=0.05, kind=float),
        relay_in_process=read.flag("CPU_RELAY_IN_PROCESS", env == "embedded"),
        relay_interval=read.number("CPU_RELAY_INTERVAL", 0.5, minimum=0.01, kind=float),
        outbox_retention_days=read.number("CPU_OUTBOX_RETENTION_DAYS", 7, minimum=1),
        schema_check=read.flag("CPU_SCHEMA_CHECK", True),
        log_level=read.text("CPU_LOG_LEVEL", "INFO").upper(),
        rate_limit_storage=read.text("CPU_RATE_LIMIT_STORAGE", "memory://"),
        trusted_proxies=read.number("CPU_TRUSTED_PROXIES", 0, minimum=0),
        public_url=public_url,
        elasticsearch_url=read.text("ELASTICSEARCH_URL", "") or None,
        broker_url=read.text("CPU_BROKER_URL", "") or None,
        max_api_keys=read.number("CPU_MAX_API_KEYS", 25, minimum=1),
        max_staff_users=read.number("CPU_MAX_STAFF_USERS", 50, minimum=1),
        principal_cache_seconds=read.number("CPU_PRINCIPAL_CACHE_SECONDS", 5.0, minimum=0, kind=float),
        stock_hold_seconds=read.number("CPU_STOCK_HOLD_SECONDS", 900, minimum=10),
        checkout_deadline_seconds=read.number("CPU_CHECKOUT_DEADLINE_SECONDS", 120, minimum=1),
        email_lookup_key=email_lookup_key,
        secret_key_fallbacks=tuple(k.strip() for k in read.text("CPU_SECRET_KEY_FALLBACKS", "").split(",") if k.strip()),
        mail_url=read.text("CPU_MAIL_URL", (instance_path / "mail").as_uri()),
        mail_from=read.text("CPU_MAIL_FROM", f"CPU Marketplace <no-reply@{urlsplit(public_url).hostname or 'localhost'}>"),
        mail_timeout=read.number("CPU_MAIL_TIMEOUT", 10.0, minimum=0.1, kind=float),
        webhook_sealing_key=webhook_sealing_key,
        webhook_timeout=read.number("CPU_WEBHOOK_TIMEOUT", 5.0, minimum=0.1, kind=float),
        region=region,
        operator_token=read.text("CPU_OPERATOR_TOKEN", ""),
        postal_secrets=_postal_secrets(read, env),
        directory_copy=read.flag("CPU_DIRECTORY_COPY", False),
        arbiter_timeout=read.number("CPU_ARBITER_TIMEOUT", 1.0, minimum=0.05, kind=float),
        stripe_secret_key=stripe_secret_key,
        stripe_webhook_secret=read.text("CPU_STRIPE_WEBHOOK_SECRET", ""),
        stripe_connect_webhook_secret=read.text("CPU_STRIPE_CONNECT_WEBHOOK_SECRET", ""),
        stripe_api_base=read.text("CPU_STRIPE_API_BASE", "").rstrip("/"),
        standin_card=_standin_card(read, env, database_urls.values(), stripe=bool(stripe_secret_key)),
    )
    if settings.directory_copy and not (settings.region and settings.broker_url):
        read.problems.append("CPU_DIRECTORY_COPY=true needs CPU_REGION (whose copy it is) and CPU_BROKER_URL "
                             "(how the copies hear of each other and ask a name's arbiter)")
    if settings.stripe_secret_key and not settings.stripe_webhook_secret:
        read.problems.append("CPU_STRIPE_WEBHOOK_SECRET is required with CPU_STRIPE_SECRET_KEY: a card payment is "
                             "confirmed by Stripe's signed webhook, and without its secret none can be verified")
    if settings.operator_token and len(settings.operator_token) < 32:
        read.problems.append("CPU_OPERATOR_TOKEN must be a random value of at least 32 characters")
    _check_mail(read, settings)
    if settings.rate_limit_storage.split("://")[0] not in RATE_LIMIT_STORAGES:
        read.problems.append(f"CPU_RATE_LIMIT_STORAGE must start with one of {', '.join(s + '://' for s in RATE_LIMIT_STORAGES)}")
    if settings.public_url and not settings.public_url.startswith(("https://", "http://")):
        read.problems.append(f"CPU_PUBLIC_URL={settings.public_url!r} must start with https://")
    if env == "production":
        if settings.rate_limit_storage.startswith("memory"):
            read.problems.append("CPU_RATE_LIMIT_STORAGE must be a redis:// URL in production: counted in each "
                                 "process, sign-in limits would multiply by the number of processes")
        if not settings.public_url.startswith("https://"):
            read.problems.append("CPU_PUBLIC_URL (https://...) is required in production: links in emails are built "
                                 "from it, never from a request's Host header")
    if settings.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        read.problems.append(f"CPU_LOG_LEVEL={settings.log_level!r} must be DEBUG, INFO, WARNING or ERROR")
    if read.problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(read.problems))
    return settings


def _standin_card(read: _Reader, env: str, shard_urls, *, stripe: bool) -> bool:
    """CPU_STANDIN_CARD, by default on only for the embedded default on SQLite shards without Stripe."""
    on_files = all(url.startswith("sqlite") for url in shard_urls)
    wanted = read.flag("CPU_STANDIN_CARD", env == "embedded" and on_files and not stripe)
    if wanted and env == "production":
        read.problems.append("CPU_STANDIN_CARD=true is refused in production: the stand-in card accepts every card "
                             "and charges nothing; card payments there need CPU_STRIPE_SECRET_KEY")
    elif wanted and stripe:
        read.problems.append("CPU_STANDIN_CARD=true is refused with CPU_STRIPE_SECRET_KEY: cards go to Stripe, and a "
                             "stand-in that charges nothing must not be one setting away from them")
    return wanted


def _postal_secrets(read: _Reader, env: str) -> dict[str, str]:
    from logistics.s10 import operators

    secrets = {}
    for operator in operators():
        name = f"CPU_POSTAL_SECRET_{operator.upper()}"
        secrets[operator] = read.text(name, "" if env == "production" else f"embedded-postal-{operator}-not-secret")
        if env == "production" and secrets[operator] and len(secrets[operator]) < 32:
            read.problems.append(f"{name} must be the operator's random secret of at least 32 characters")
    return secrets


def _database_url(read: _Reader, name: str, instance_path: Path, env: str) -> str:
    """CPU_DATABASE_URL_<NAME>, else CPU_DATABASE_URL_TEMPLATE with {name}, else a SQLite file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    key = f"CPU_DATABASE_URL_{name.upper()}"
    template = read.text("CPU_DATABASE_URL_TEMPLATE", "")
    url = read.text(key, template.replace("{name}", name) if template else "")
    if not url:
        if env == "production":
            read.problems.append(f"{key} (or CPU_DATABASE_URL_TEMPLATE) is required in production")
        return f"sqlite:///{instance_path / f'{name}.db'}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        read.problems.append(f"{key}: {mask_url(url)!r} is not a database URL")
        return url
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        read.problems.append(f"{key}: only sqlite and postgresql databases are supported")
    elif env == "production" and parsed.get_backend_name() != "postgresql":
        read.problems.append(f"{key}: production runs on PostgreSQL, not {parsed.get_backend_name()}")
    if env == "production" and parsed.get_backend_name() == "postgresql":
        _check_tls(read, key, parsed.query.get("sslmode"))
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _check_mail(read: _Reader, settings: Settings) -> None:
    """Production mails through a server: a folder of .eml files would lose every reset link
    unseen, and a login in clear text would show the mail password to the network."""
    if "@" not in parseaddr(settings.mail_from)[1]:
        read.problems.append(f"CPU_MAIL_FROM={settings.mail_from!r} is not an email address")
    try:
        target = mail_url.parse(settings.mail_url)
    except ValueError as exc:
        read.problems.append(f"CPU_MAIL_URL: {exc}")
        return
    if settings.env != "production":
        return
    if not isinstance(target, mail_url.SmtpServer):
        read.problems.append("CPU_MAIL_URL (smtp://... or smtps://...) is required in production: the embedded "
                             "default writes mail into a folder nobody reads")
    elif target.tls == "none" and (target.username or not _loopback(target.host)):
        read.problems.append("CPU_MAIL_URL: production sends mail (reset links) over TLS unless the server is on "
                             "this host: use smtps:// or add ?starttls=1")


def _loopback(host: str) -> bool:
    """A mail relay on this host (a local Postfix) is reached without crossing a network."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_tls(read: _Reader, key: str, sslmode: object) -> None:
    """Refuse a production PostgreSQL URL that could travel in clear text between data centers."""
    if sslmode == VERIFIED_SSLMODE:
        return
    if sslmode == UNVERIFIED_SSLMODE:
        log.warning("%s uses sslmode=require: encrypted, but the server's certificate is not verified; "
                    "use sslmode=verify-full", key)
        return
    read.problems.append(f"{key}: production needs TLS to the database: add ?sslmode={VERIFIED_SSLMODE} "
                         f"(or {UNVERIFIED_SSLMODE}, which does not check the server's certificate)")
