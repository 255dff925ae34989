"""IpIndex: the caches read in passes beside the requests, and kept in the database across restarts.

A pass reads every guest's config first and then the live answers (guest agents, container interfaces), so the
configured addresses are known before any agent is asked. Passes run in the background: a caller waits at most
`wait` seconds for one, then answers with what is known and how far the reading has come. What a pass reads is
saved in batches (one transaction each) and loaded at start-up, so only a new install starts cold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError
from app.proxmox.models import ClusterResources
from app.proxmox.netparse import parse_config
from app.services.ips.cache import CONCURRENCY, IpCache, _ConfigEntry, _LiveEntry, asks_live, offline_nodes
from app.services.ips.results import IndexProgress
from app.services.ips.store import BATCH, IpStore, StoredConfig, StoredLive

__all__ = ["FIRST_WAIT", "IpIndex"]

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# Seconds a caller waits for the index's reading before it answers with what is known: a small cluster is read
# in that time, so its first page is whole; a big one paints at once and fills in.
FIRST_WAIT = 0.25
# Seconds shutting down may spend saving what was read since the last save.
LAST_SAVE = 5.0
# Guests a caller waits to see read: more cannot be read in the wait, so the page paints at once instead.
QUICK_READ = 500
# Passes that follow each other while guests appear that were never read (a bound, should guests keep coming).
MAX_PASSES = 5


class IpIndex(IpCache):
    """The caches, read in background passes and saved to the store (when there is one)."""

    def __init__(
        self, pve: PveClient, *, store: IpStore | None = None, wait: float = FIRST_WAIT, **options: Any
    ) -> None:
        super().__init__(pve, **options)
        self._store, self._wait = store, wait
        self._workers = options.get("concurrency", CONCURRENCY)
        # One pass at a time: a second caller waits, then finds the caches warm.
        self._pass = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._loading: asyncio.Task[None] | None = None
        self._saver: asyncio.Task[None] | None = None
        # When the last full pass ended and how long it took: the next starts no sooner than LIVE_TTL after it,
        # nor than twice its length (so a cluster whose pass takes minutes is not read without pause).
        self._refreshed_at = float("-inf")
        self._pass_seconds = 0.0

    # ------------------------------------------------------------------ progress

    def progress_of(self, resources: ClusterResources) -> IndexProgress:
        """How many of the guests (on nodes that answer) have been read, configs and live answers."""
        offline = offline_nodes(resources)
        guests = configs = live = live_read = 0
        for guest in resources.guests:
            if guest.node in offline:
                continue
            guests += 1
            entry = self._stale_config(guest)
            if entry is None:
                continue
            configs += 1
            if entry.network is not None and asks_live(guest, entry.network):
                live += 1
                live_read += self._known_live(guest, entry.network) is not None
        return IndexProgress(guests, configs, live, live_read)

    async def _ready(self, resources: ClusterResources, wait: float | None = None) -> IndexProgress:
        """Load the stored index (once); read in the background what was never read, waiting up to `wait`
        seconds for it, or what is due for a refresh; how far the index has come."""
        timeout = self._wait if wait is None else wait
        if not await self._loaded(timeout):
            # Nothing is read while the stored index loads (10,000 guests take a second or so): the answer is
            # what is loaded so far.
            return self.progress_of(resources)
        progress = self.progress_of(resources)
        if not progress.complete:
            self._read_later(resources, refresh=False)
            reader = self._reader
            if reader is not None and timeout > 0 and progress.guests - progress.configs <= QUICK_READ:
                await asyncio.wait({reader}, timeout=timeout)
                progress = self.progress_of(resources)
        elif self._clock() - self._refreshed_at >= max(self._live_ttl, 2 * self._pass_seconds):
            self._read_later(resources, refresh=True)
        return progress

    async def read_index(self) -> None:
        """Wait until every guest has been read once (a free address must not come from half an index)."""
        await self._loaded()
        for _ in range(MAX_PASSES + 1):
            resources = await self.pve.cluster_resources()
            if (await self._ready(resources, wait=0)).complete:
                return
            if self._reader is not None:
                await asyncio.shield(self._reader)

    # ------------------------------------------------------------------ reading

    def _reading(self) -> bool:
        return self._reader is not None and not self._reader.done()

    def _read_later(self, resources: ClusterResources, *, refresh: bool) -> None:
        """Start a pass in the background unless one runs: refresh reads everything due, else only what was
        never read."""
        if not self._reading():
            self._reader = asyncio.create_task(self._read_until_complete(resources, refresh))

    async def _read_until_complete(self, resources: ClusterResources, refresh: bool) -> None:
        try:
            for _ in range(MAX_PASSES):
                await self._read_pass(resources, refresh=refresh)
                await self._index_read(resources)
                resources = await self.pve.cluster_resources()
                if self.progress_of(resources).complete:
                    return
                refresh = False
        except Exception:  # a background task has nobody to tell but the log
            log.exception("reading the IP index failed")

    async def _read_pass(self, resources: ClusterResources, *, refresh: bool) -> None:
        """Every config due, then every live answer due, of the guests on nodes that answer."""
        started = self._clock()
        async with self._pass:
            self._prune(resources)
            offline = offline_nodes(resources)
            online = [g for g in resources.guests if g.node not in offline]
            # Every config first: the configured addresses are listed before any guest agent is asked.
            configs = await self._in_turn(online, lambda g: self._config(g, stale_ok=not refresh))
            read = [(g, e.network) for g, e in zip(online, configs, strict=True) if e.network is not None]
            await self._in_turn(read, lambda pair: self._live_data(*pair, stale_ok=not refresh))
        if refresh or self._refreshed_at == float("-inf"):
            self._refreshed_at, self._pass_seconds = self._clock(), self._clock() - started
        self._save_later()

    async def _in_turn(self, items: Sequence[T], read: Callable[[T], Awaitable[R]]) -> list[R]:
        """read(item) of every item, `concurrency` at a time, in order; a few workers rather than a task per
        item, which at 10,000 guests kept the event loop busy starting tasks while pages waited."""
        out: list[R | None] = [None] * len(items)
        turns = iter(enumerate(items))

        async def worker() -> None:
            for index, item in turns:
                out[index] = await read(item)

        await asyncio.gather(*(worker() for _ in range(min(self._workers, len(items)))))
        return cast(list[R], out)

    async def _index_read(self, resources: ClusterResources) -> None:
        """A pass ended (IpService builds its view of the caches here, off the request path)."""

    async def aclose(self) -> None:
        """Stop the background reading and save what it read (the app is shutting down)."""
        for task in (self._reader, self._loading):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.config_notes.aclose()
        if self._store is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._last_save(), LAST_SAVE)

    async def _last_save(self) -> None:
        """Let a save under way end, then save what is left."""
        if self._saver is not None:
            await self._saver
        await self._save_all()

    async def refreshed(self) -> None:
        """Wait for the background reading, if one runs."""
        if self._reader is not None:
            await asyncio.shield(self._reader)

    # ------------------------------------------------------------------ the store

    def load_later(self) -> None:
        """Start loading the stored index (at start-up: a search by address finds guests before /ips is opened)."""
        if self._store is not None and self._loading is None:
            self._loading = asyncio.create_task(self._load(self._store))

    async def _loaded(self, patience: float | None = None) -> bool:
        """True once the stored index is loaded (loaded once, before the caches are first read), waiting for it
        up to `patience` seconds (None: as long as it takes)."""
        self.load_later()
        loading = self._loading
        if loading is None or loading.done():
            return True
        if patience is None:
            await asyncio.shield(loading)
            return True
        await asyncio.wait({loading}, timeout=patience)
        return loading.done()

    async def _load(self, store: IpStore) -> None:
        try:
            configs, lives = await store.load()
        except Exception:  # the index is a cache: without it the guests are read again
            log.exception("loading the saved IP index failed")
            return
        now, mono = datetime.now(UTC), self._clock()

        def since(read_at: datetime) -> float:
            return mono - (now - _aware(read_at)).total_seconds()

        for count, row in enumerate(configs, 1):
            if row.vmid not in self._configs:
                network = parse_config(row.kind, row.network)
                self._configs[row.vmid] = _ConfigEntry(
                    row.node, row.kind, since(row.read_at), network, None, row.network
                )
            if count % BATCH == 0:  # parsing 10,000 configs takes a while: let requests run between slices
                await asyncio.sleep(0)
        for live in lives:
            if live.vmid not in self._live:
                self._live[live.vmid] = _LiveEntry(
                    live.node, live.status, since(live.read_at), live.records, live.problem
                )
        self._generation += 1
        if not configs:
            return
        # The stored index counts as the last full pass: a restart re-reads it once it is due, not at once.
        self._refreshed_at = min(since(row.read_at) for row in configs)
        with contextlib.suppress(PveError):  # the first page asks again (and shares this read of the cluster)
            await self._index_read(await self.pve.cluster_resources())

    def _entry_read(self) -> None:
        if self._store is not None and len(self._changed_configs) + len(self._changed_live) >= BATCH:
            self._save_later()

    def _save_later(self) -> None:
        """Save what changed in a background task (one at a time)."""
        if self._store is not None and (self._saver is None or self._saver.done()):
            self._saver = asyncio.create_task(self._save_all())

    async def _save_all(self) -> None:
        """Save until nothing is left to save; on failure, keep it for the next try."""
        while self._store is not None and (self._changed_configs or self._changed_live or self._dropped):
            configs, lives, dropped = self._take_changes()
            try:
                await self._store.save(configs, lives, dropped)
            except Exception:  # the index is a cache: the next save tries again
                log.exception("saving the IP index failed")
                self._changed_configs |= {c.vmid for c in configs}
                self._changed_live |= {a.vmid for a in lives}
                self._dropped |= set(dropped)
                return

    def _take_changes(self) -> tuple[list[StoredConfig], list[StoredLive], set[int]]:
        """What was read or dropped since the last save, as rows; the sets start again empty."""
        now, mono = datetime.now(UTC), self._clock()

        def when(read_at: float) -> datetime:
            return now - timedelta(seconds=mono - read_at)

        configs = [
            StoredConfig(vmid, e.node, e.kind, e.keys, when(e.read_at))
            for vmid in self._changed_configs
            if (e := self._configs.get(vmid)) is not None and e.keys is not None
        ]
        lives = [
            StoredLive(vmid, a.node, a.status, a.records, a.problem, when(a.read_at))
            for vmid in self._changed_live
            if (a := self._live.get(vmid)) is not None
        ]
        dropped = self._dropped
        self._changed_configs, self._changed_live, self._dropped = set(), set(), set()
        return configs, lives, dropped


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
