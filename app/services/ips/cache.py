"""IpCache: each guest's network config and live addresses as last read, with how old they are.

Configs are read with bounded concurrency and kept for CONFIG_TTL; a re-read parses again only when the
config digest changed. Live answers (guest agent, container interfaces) are kept for LIVE_TTL. With stale_ok
a cached answer of any age is used (and noted), so a page can answer while a refresh runs elsewhere. Nothing a
guest's failure says (403, agent not running, node offline) fails a read: it becomes a note.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.proxmox.client import PveClient
from app.proxmox.errors import PveError, PveForbidden, one_line
from app.proxmox.models import ClusterResources, GuestResource
from app.proxmox.netparse import (
    AddressRecord,
    GuestNetworkConfig,
    network_part,
    parse_agent_interfaces,
    parse_config,
    parse_lxc_interfaces,
)
from app.proxmox.paths import GuestPath
from app.proxmox.tls import LIMITS
from app.services.ips.explain import explain_unknowns
from app.services.ips.noted import ConfigNotes
from app.services.ips.results import GuestIps

CONFIG_TTL = 60.0
LIVE_TTL = 15.0
# Upstream requests in flight at once: as many as the client pool keeps alive (each request beyond that would
# open, and soon close, a TLS connection of its own), so that 64 round trips overlap; measured in
# bench/ip_inventory.py (16 left 500 configs waiting for 32 round trips in turn).
CONCURRENCY = LIMITS.max_keepalive_connections or 64
Problem = tuple[str, str]


@dataclass
class _ConfigEntry:
    node: str
    kind: str
    read_at: float
    network: GuestNetworkConfig | None = None
    problem: Problem | None = None
    # The config keys the network was parsed from (what the database keeps).
    keys: dict[str, str] | None = None


@dataclass
class _LiveEntry:
    node: str
    status: str
    read_at: float
    records: list[AddressRecord]
    problem: Problem | None = None


def _problem_text(what: str, exc: PveError) -> Problem:
    """(kind, message) for a read that failed; a 403 names the missing privilege."""
    if isinstance(exc, PveForbidden):
        return "forbidden", f"{what} cannot be read: {exc}"
    return "error", f"{what} could not be read: {exc}"


class IpCache:
    """The per-guest caches and the reads that fill them; IpService builds the inventory on top."""

    def __init__(
        self,
        pve: PveClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        config_ttl: float = CONFIG_TTL,
        live_ttl: float = LIVE_TTL,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.pve = pve
        self._clock = clock
        self._config_ttl, self._live_ttl = config_ttl, live_ttl
        self._limit = asyncio.Semaphore(concurrency)
        self._configs: dict[int, _ConfigEntry] = {}
        self._live: dict[int, _LiveEntry] = {}
        # What was read or dropped since the index was last saved.
        self._changed_configs: set[int] = set()
        self._changed_live: set[int] = set()
        self._dropped: set[int] = set()
        self.parses = 0  # configs parsed so far (a re-read with an unchanged digest is not parsed again)
        # Bumped whenever a cached answer is replaced or dropped, so what is built from them can be kept.
        self._generation = 0
        # Every config read is noted beside the index (configs changed without Proxgate), when someone notes them.
        self.config_notes = ConfigNotes()

    async def _read_guest(
        self,
        guest: GuestResource,
        offline: bool,
        stale_ok: bool = False,
        retry_failed: bool = False,
        config: Awaitable[Any] | None = None,
    ) -> GuestIps:
        """The guest's addresses; retry_failed reads again what failed last time (one guest's page does), and
        config is a read of the guest's config already under way (the guest's page needs it anyway)."""
        if offline:
            return self._guest_ips(guest, self._stale_config(guest), None, offline=True)
        entry = await self._config(guest, stale_ok, retry_failed, config)
        live = None
        if entry.network is not None:
            live = await self._live_data(guest, entry.network, stale_ok, retry_failed)
        return self._guest_ips(guest, entry, live)

    def _known_guest(self, guest: GuestResource, offline: bool) -> GuestIps:
        """The guest's addresses from the caches alone, as old as they are (nothing is read)."""
        entry = self._stale_config(guest)
        if offline or entry is None or entry.network is None:
            return self._guest_ips(guest, entry, None, offline=offline)
        live = self._known_live(guest, entry.network)
        pending = live is None and asks_live(guest, entry.network)
        return self._guest_ips(guest, entry, live, pending=pending)

    def _known_live(self, guest: GuestResource, network: GuestNetworkConfig) -> _LiveEntry | None:
        """The cached live answer of a guest that has one to give, read where it runs now."""
        cached = self._live.get(guest.vmid)
        if cached is None or not asks_live(guest, network):
            return None
        return cached if (cached.node, cached.status) == (guest.node, guest.status) else None

    @staticmethod
    def _guest_ips(
        guest: GuestResource,
        entry: _ConfigEntry | None,
        live: _LiveEntry | None,
        *,
        offline: bool = False,
        pending: bool = False,
    ) -> GuestIps:
        """GuestIps of a config and live answer; pending: the live answer is still to be read, so nothing is
        said yet about addresses only it could tell."""
        ips = GuestIps(guest)
        if entry is None:
            return ips
        ips.config = entry.network
        if entry.problem:
            ips.note(*entry.problem)
        if entry.network is None:
            return ips
        ips.records.extend(entry.network.addresses)
        for problem in entry.network.problems:
            ips.note("problem", f"Unreadable config value: {problem}")
        if offline or pending:
            return ips
        ips.records.extend(live.records if live else [])
        if live and live.problem:
            ips.note(*live.problem)
        explain_unknowns(ips, live.records if live else [], bool(live and live.problem))
        return ips

    def _stale_config(self, guest: GuestResource) -> _ConfigEntry | None:
        cached = self._configs.get(guest.vmid)
        return cached if cached and cached.node == guest.node and cached.kind == guest.type else None

    def _fresh(self, read_at: float, ttl: float) -> bool:
        return self._clock() - read_at < ttl

    def _usable(self, read_at: float, ttl: float, stale_ok: bool) -> bool:
        """True when a cached answer may be used: fresh, or older where that is fine."""
        return stale_ok or self._fresh(read_at, ttl)

    async def _config(
        self,
        guest: GuestResource,
        stale_ok: bool = False,
        retry_failed: bool = False,
        config: Awaitable[Any] | None = None,
    ) -> _ConfigEntry:
        cached = self._stale_config(guest)
        # Failed reads are retried sooner than good ones are refreshed.
        ttl = self._config_ttl if cached and cached.network else self._live_ttl
        keep = config is None and cached and not (retry_failed and cached.problem)
        if keep and cached and self._usable(cached.read_at, ttl, stale_ok):
            return cached
        entry = _ConfigEntry(guest.node, guest.type, self._clock())
        try:
            data = await (config if config is not None else self._read_config(guest))
        except PveError as exc:
            entry.problem = _problem_text("Its configuration", exc)
        else:
            if isinstance(data, dict):
                self.config_notes.add(guest, data)
            keys = network_part(data if isinstance(data, dict) else {})
            entry.network, entry.keys = self._parsed(guest, keys, cached), keys
            self._changed_configs.add(guest.vmid)
        self._configs[guest.vmid] = entry
        self._generation += 1
        self._entry_read()
        return entry

    async def _read_config(self, guest: GuestResource) -> Any:
        async with self._limit:
            return await self.pve.get(GuestPath(guest.node, guest.type, guest.vmid).config)

    def _parsed(
        self, guest: GuestResource, data: Mapping[str, object], cached: _ConfigEntry | None
    ) -> GuestNetworkConfig:
        """The parsed config, reusing the cached parse when the digest is unchanged."""
        digest = str(data.get("digest") or "") or None
        if cached and cached.network and digest and cached.network.digest == digest:
            return cached.network
        self.parses += 1
        return parse_config(guest.type, data)

    async def _live_data(
        self,
        guest: GuestResource,
        network: GuestNetworkConfig,
        stale_ok: bool = False,
        retry_failed: bool = False,
    ) -> _LiveEntry | None:
        if not asks_live(guest, network):
            return None
        cached = self._live.get(guest.vmid)
        same = cached and (cached.node, cached.status) == (guest.node, guest.status)
        fine = not (retry_failed and cached and cached.problem)
        if cached and same and fine and self._usable(cached.read_at, self._live_ttl, stale_ok):
            return cached
        entry = _LiveEntry(guest.node, guest.status, self._clock(), [])
        path = GuestPath(guest.node, guest.type, guest.vmid)
        try:
            async with self._limit:
                if guest.type == "qemu":
                    entry.records = parse_agent_interfaces(
                        await self.pve.get(path.agent("network-get-interfaces"))
                    )
                else:
                    entry.records = parse_lxc_interfaces(await self.pve.get(path.interfaces))
        except PveError as exc:
            entry.problem = _live_problem(guest, exc)
        self._live[guest.vmid] = entry
        self._changed_live.add(guest.vmid)
        self._generation += 1
        self._entry_read()
        return entry

    def _prune(self, resources: ClusterResources) -> None:
        """Forget guests that are gone."""
        for cache in (self._configs, self._live):
            for vmid in [v for v in cache if resources.guest(v) is None]:
                del cache[vmid]
                self._dropped.add(vmid)
                self._generation += 1

    def _entry_read(self) -> None:
        """A cached answer was replaced (IpIndex saves them in batches)."""


def _live_problem(guest: GuestResource, exc: PveError) -> Problem:
    if guest.type == "lxc":
        return _problem_text("Its live interfaces", exc)
    if isinstance(exc, PveForbidden):
        return "forbidden", f"The guest agent's addresses cannot be read: {exc}"
    return (
        "agent",
        f"The guest agent does not answer ({one_line(exc.message)}): only configured addresses are shown.",
    )


def asks_live(guest: GuestResource, network: GuestNetworkConfig) -> bool:
    """True when the running guest can report addresses: a container, or a VM with the guest agent on."""
    return guest.running and not guest.template and (guest.type == "lxc" or network.agent)


def offline_nodes(resources: ClusterResources) -> set[str]:
    """The nodes /cluster/resources lists as offline."""
    return {n.node for n in resources.nodes if not n.online}


async def as_it_is_now(guest: GuestResource, status: Awaitable[Any]) -> GuestResource:
    """The guest in the state its own status read gives: the cluster view may be seconds behind a start or stop,
    and a running guest's addresses are asked of it, a stopped one's are not."""
    try:
        current = await status
    except PveError:
        return guest  # the page says the status is unreadable; the view's state is the best there is
    state = current.get("status") if isinstance(current, dict) else None
    if not isinstance(state, str) or state == guest.status:
        return guest
    return guest.model_copy(update={"status": state})
