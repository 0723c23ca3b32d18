"""The shard router: the only code that creates engines and sessions.

It answers "which region holds this party?" from the global directory (cached in process)
and hands out units of work, each one transaction on one database. A unit of work refuses to
flush a row whose `region` is not its own, so a merchant's data cannot land in another data
center's database by mistake.

A process with CPU_REGION set serves that region alone (docs/decisions/0002): it opens its own
shard and its region's copy of the directory, and asking it for another region's shard raises
ForeignRegion before any connection is made, so personal data of a party in `fdf` is never
read outside `fdf`. Without CPU_REGION (the embedded default) one process serves every region.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from cachetools import FIFOCache, TLRUCache, TTLCache
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from marketplace.config import Settings
from marketplace.errors import DomainError, RegionUnavailable
from marketplace.regions import engines
from marketplace.regions.base import DirectoryBase, ShardBase
from marketplace.regions.breaker import RegionHealth
from marketplace.regions.bulkhead import Bulkhead
from marketplace.regions.deadline import Watchdog
from marketplace.regions.ids import PREFIXES, is_id
from marketplace.regions.models import DirectoryEntry, StorefrontHandle
from marketplace.regions.regionmap import RegionMap
from marketplace.regions.uow import UnitOfWork, last_region

DIRECTORY = "directory"


class WrongRegion(RuntimeError):
    """A programming error: a row was about to be written to another region's database."""


class ReadOnlyViolation(RuntimeError):
    """A programming error: a write attempted in a read-only unit of work."""


class ForeignRegion(RegionUnavailable):
    """This process belongs to another region and must not open `region`'s shard.

    421 Misdirected Request, not 503: the region is not down, the request reached the wrong
    data center. A 503 would tell a load balancer this server is unhealthy and a client to
    retry the same place; 421 tells the edge to send it to the home region this problem
    names (`region`). It is a RegionUnavailable so that loops over regions pass it by as a
    region this process cannot reach."""

    status = 421
    title = "Misdirected request"
    slug = "misdirected-request"
    retry_after = None  # retrying here cannot help

    def __init__(self, region: str, *, serving: str):
        DomainError.__init__(self, f"This server belongs to the {serving} data center; the {region} data center "
                                   f"answers for this.")  # not RegionUnavailable's: nothing is down
        self.region = region
        self.serving = serving

    def extra(self) -> dict[str, object]:
        return {"region": self.region, "served_here": self.serving}


class LocationCache:
    """What the directory said a moment ago: party id -> region, storefront handle -> merchant
    id, and the party ids it did not hold.

    Regions are kept until forgotten (a relocation forgets the party), bounded, oldest out
    first. Handles are kept for `handle_ttl` seconds, so a handle given up in another process
    stops resolving here after at most that long; the storefront also checks that the
    merchant it reaches still carries the handle, and forgets it when not. Handles the
    directory does not hold are not remembered at all: a storefront opened in this process a
    moment ago must be found at once. Misses of party ids are remembered for `miss_ttl`
    seconds only: a party registered in another process becomes visible here after at most
    that long, while a client repeating a made-up id costs the directory one lookup per TTL.

    Every access takes the lock: cachetools caches are not thread-safe (a `get` racing an
    eviction can raise), and an uncontended lock costs a fraction of a microsecond.
    """

    def __init__(self, maxsize: int = 100_000, *, miss_ttl: float = 5.0, miss_maxsize: int = 10_000,
                 handle_ttl: float = 10.0, handle_maxsize: int = 10_000):
        self.miss_ttl = miss_ttl
        self.miss_maxsize = miss_maxsize
        self._entries: FIFOCache[str, str] = FIFOCache(maxsize)
        self._misses: TLRUCache[str, bool] = TLRUCache(miss_maxsize, ttu=lambda _key, _value, now: now + self.miss_ttl)
        self._handles: TTLCache[str, str] = TTLCache(handle_maxsize, ttl=handle_ttl)
        self._lock = threading.Lock()

    def get(self, party_id: str) -> str | None:
        with self._lock:
            return self._entries.get(party_id)

    def known_missing(self, party_id: str) -> bool:
        """True while a recent directory lookup found no such party."""
        with self._lock:
            return party_id in self._misses

    def put(self, party_id: str, region: str) -> None:
        with self._lock:
            self._misses.pop(party_id, None)
            self._entries[party_id] = region

    def put_missing(self, party_id: str) -> None:
        with self._lock:
            self._misses[party_id] = True

    def merchant_of_handle(self, handle: str) -> str | None:
        with self._lock:
            return self._handles.get(handle)

    def put_handle(self, handle: str, merchant_id: str) -> None:
        with self._lock:
            self._handles[handle] = merchant_id

    def forget_handle(self, handle: str) -> None:
        with self._lock:
            self._handles.pop(handle, None)

    def forget(self, party_id: str | None = None) -> None:
        """Forget one party (its region, its miss, its handles: what a relocation or a rename
        does), or everything."""
        with self._lock:
            if party_id is None:
                self._entries.clear()
                self._misses.clear()
                self._handles.clear()
                return
            self._entries.pop(party_id, None)
            self._misses.pop(party_id, None)
            for handle in [h for h, merchant_id in self._handles.items() if merchant_id == party_id]:
                self._handles.pop(handle, None)


class Router:
    def __init__(self, settings: Settings, region_map: RegionMap):
        self.settings = settings
        self.regions = region_map
        self.watchdog = Watchdog(settings.db_background_deadline)
        self.health = RegionHealth(settings.region_retry_after, probe_window=settings.db_connect_timeout + 1,
                                   on_down=self.watchdog.cut)
        self.locations = LocationCache()
        self.bulkhead = Bulkhead(slots=2 * settings.db_pool_size)  # the pool's size plus its overflow
        self.region = settings.region  # None: every region, in this one process
        # The directory a region process opens: its own region's copy with CPU_DIRECTORY_COPY
        # (docs/decisions/0004), else the one directory every process shares.
        self._urls = {**settings.database_urls, DIRECTORY: settings.directory_url}
        self._engines: dict[str, Engine] = {}
        self._read_only_engines: dict[str, Engine] = {}
        self._sessionmakers: dict[tuple[str, bool], sessionmaker[Session]] = {}
        self._lock = threading.Lock()

    @property
    def served_regions(self) -> tuple[str, ...]:
        """The regions whose shards this process may open: its own, or all in the embedded default."""
        return (self.region,) if self.region else self.regions.region_codes

    @property
    def database_names(self) -> tuple[str, ...]:
        """Every database this process may open: the regional shards it serves, then the directory."""
        return (*self.served_regions, DIRECTORY)

    def require_served(self, region: str) -> None:
        """ForeignRegion (421) unless this process serves `region`: for work that must not
        start anywhere else, before it touches any database."""
        self._refuse_foreign(region)

    def url(self, name: str) -> str:
        self._refuse_foreign(name)
        return self._urls[name]

    def engine(self, name: str) -> Engine:
        """The engine of one database, created on first use."""
        self._refuse_foreign(name)
        engine = self._engines.get(name)
        if engine is None:
            with self._lock:
                engine = self._engines.get(name)
                if engine is None:
                    engine = engines.create(
                        self._urls[name],
                        name=name,
                        connect_timeout=self.settings.db_connect_timeout,
                        pool_size=self.settings.db_pool_size,
                        watchdog=self.watchdog,
                    )
                    self._engines[name] = engine
        return engine

    def _read_only_engine(self, name: str) -> Engine:
        """The engine of read-only units of work on one database (see engines.read_only)."""
        engine = self._read_only_engines.get(name)
        if engine is None:
            writer = self.engine(name)
            with self._lock:
                engine = self._read_only_engines.get(name)
                if engine is None:
                    engine = engines.read_only(writer, name=name, connect_timeout=self.settings.db_connect_timeout,
                                               pool_size=self.settings.db_pool_size, watchdog=self.watchdog)
                    self._read_only_engines[name] = engine
        return engine

    def engines_of(self, name: str) -> tuple[Engine, ...]:
        """Every engine whose statements reach database `name`: the writing one and, on
        PostgreSQL, the read-only one (see engines.read_only). Whatever counts or watches the
        statements sent to a database listens on all of them."""
        writer, reader = self.engine(name), self._read_only_engine(name)
        return (writer,) if reader.pool is writer.pool else (writer, reader)

    def unit_of_work(self, region: str, *, read_only: bool = False) -> UnitOfWork:
        """One transaction on one region's shard."""
        if region not in self.regions.regions:
            raise KeyError(f"unknown region {region!r}")
        self._refuse_foreign(region)
        return UnitOfWork(name=region, factory=self._factory(region, read_only), health=self.health,
                          bulkhead=self.bulkhead)

    def admit(self, region: str) -> None:
        """Refuse work for `region` before it costs anything (a password hash, names claimed in
        the directory and released again): ForeignRegion (421) when this process does not serve
        it, RegionUnavailable (503) while its breaker is open or when its shard does not answer
        one `SELECT 1` in time. The `SELECT 1` draws on the request's one budget, as every
        statement after it does, so admission and the work together wait no longer. For work that is expensive before its first
        statement on the shard (a sign-up); a read needs no admission, its first statement is it."""
        if region not in self.regions.regions:
            raise KeyError(f"unknown region {region!r}")
        with self.unit_of_work(region, read_only=True) as uow:
            uow.session.execute(text("SELECT 1"))

    def directory(self, *, read_only: bool = False) -> UnitOfWork:
        """One transaction on the directory: in a region process, its own region's copy."""
        return UnitOfWork(name=DIRECTORY, factory=self._factory(DIRECTORY, read_only), health=self.health,
                          bulkhead=self.bulkhead)

    def region_of(self, party_id: str) -> str | None:
        """The home region of a merchant or buyer, or None when the directory has no such id.

        Anyone can send an id, so what one costs is bounded: a string not shaped like an id
        never reaches the directory, and a well-formed id that is not there is remembered as
        missing for a few seconds (see LocationCache)."""
        region = self.locations.get(party_id)
        if region is not None:
            return region
        if not _looks_like_party_id(party_id) or self.locations.known_missing(party_id):
            return None
        with self.directory(read_only=True) as uow:
            entry = uow.session.get(DirectoryEntry, party_id)
            region = entry.region if entry else None
        if region is None:
            self.locations.put_missing(party_id)
        else:
            self.locations.put(party_id, region)
        return region

    def merchant_of_handle(self, handle: str) -> str | None:
        """The merchant id a storefront handle names, or None; cached (see LocationCache), so a
        storefront page does not ask the directory on every request."""
        merchant_id = self.locations.merchant_of_handle(handle)
        if merchant_id is not None:
            return merchant_id
        with self.directory(read_only=True) as uow:
            entry = uow.session.get(StorefrontHandle, handle)
            if entry is None:
                return None
            merchant_id = entry.merchant_id
        self.locations.put_handle(handle, merchant_id)
        return merchant_id

    def assign(self, party_id: str, *, kind: str, region: str, also: Sequence[object] = ()) -> None:
        """Record a new party's home region in the directory, with any other directory rows
        that belong to it (`also`), in one transaction."""
        with self.directory() as uow:
            uow.session.add(DirectoryEntry(party_id=party_id, kind=kind, region=region))
            uow.session.add_all(also)
            uow.commit()
        self.locations.put(party_id, region)

    def release(self, party_id: str) -> None:
        """Undo `assign` when the party's own row could not be written."""
        self.locations.forget(party_id)
        with self.directory() as uow:
            entry = uow.session.get(DirectoryEntry, party_id)
            if entry is not None:
                uow.session.delete(entry)
            uow.commit()

    def all_units_of_work(self, *, read_only: bool = False) -> Iterator[tuple[str, UnitOfWork]]:
        """A unit of work on each region this process serves."""
        for region in self.served_regions:
            yield region, self.unit_of_work(region, read_only=read_only)

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()  # and its read-only engine (see engines.read_only)

    def _refuse_foreign(self, name: str) -> None:
        if self.region is not None and name not in (self.region, DIRECTORY):
            last_region.set(name)  # the refusal's log lines are about that region
            raise ForeignRegion(name, serving=self.region)

    def _factory(self, name: str, read_only: bool) -> sessionmaker[Session]:
        key = (name, read_only)
        factory = self._sessionmakers.get(key)
        if factory is not None:
            return factory
        bind = self._read_only_engine(name) if read_only else self.engine(name)
        with self._lock:
            factory = self._sessionmakers.get(key)
            if factory is not None:
                return factory
            factory = sessionmaker(bind=bind, expire_on_commit=False, info={"database": name, "read_only": read_only})
            event.listen(factory, "before_flush", _guard_placement)
            self._sessionmakers[key] = factory
        return factory


def _looks_like_party_id(value: str) -> bool:
    return isinstance(value, str) and any(is_id(value, prefix) for prefix in _DIRECTORY_PREFIXES)


_DIRECTORY_PREFIXES = tuple(sorted(PREFIXES))


def _guard_placement(session: Session, _context, _instances) -> None:
    if session.info["read_only"] and (session.new or session.dirty or session.deleted):
        raise ReadOnlyViolation("a read-only unit of work cannot write")
    database = session.info["database"]
    for obj in (*session.new, *session.dirty):
        if database == DIRECTORY:
            if not isinstance(obj, DirectoryBase):
                raise WrongRegion(f"{type(obj).__name__} does not belong in the directory")
            continue
        if not isinstance(obj, ShardBase):
            raise WrongRegion(f"{type(obj).__name__} does not belong in a regional shard")
        region = getattr(obj, "region", database)
        if region != database:
            raise WrongRegion(f"{type(obj).__name__} of region {region!r} written to the {database!r} database")
