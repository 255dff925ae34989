"""IpService: every address Proxmox knows of, from guest configs and running guests.

Configs are read with bounded concurrency and kept for CONFIG_TTL; a re-read parses again only when the
config digest changed. Live answers (guest agent, container interfaces) are kept for LIVE_TTL. Nothing a
guest's failure says (403, agent not running, node offline) fails the inventory: it becomes a note.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.proxmox.client import PveClient, segment
from app.proxmox.errors import PveError, PveForbidden, one_line
from app.proxmox.models import ClusterResources, GuestResource
from app.proxmox.netparse import (
    AddressRecord,
    GuestNetworkConfig,
    parse_agent_interfaces,
    parse_config,
    parse_lxc_interfaces,
)
from app.proxmox.tls import LIMITS
from app.services.errors import Invalid, NotFound
from app.services.ip_explain import explain_unknowns
from app.services.ip_free import DEFAULT_FREE_LIMIT, MAX_FREE_LIMIT, node_addresses, tally_free
from app.services.ip_results import FreeAddresses, GuestIps, IpInventory, IpNote
from app.services.subnets import AddressFilter, parse_address_filter, parse_subnet

__all__ = ["CONCURRENCY", "CONFIG_TTL", "LIVE_TTL", "IpService"]

CONFIG_TTL = 60.0
LIVE_TTL = 15.0
# Upstream requests in flight at once: no more than the client pool keeps alive, since each request beyond
# that opens (and soon closes) a TLS connection of its own; measured in bench/ip_inventory.py.
CONCURRENCY = min(16, LIMITS.max_keepalive_connections or 16)
Problem = tuple[str, str]


@dataclass
class _ConfigEntry:
    node: str
    kind: str
    read_at: float
    network: GuestNetworkConfig | None = None
    problem: Problem | None = None


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


class IpService:
    """The IP inventory over the shared client; one instance per app keeps the caches."""

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
        # One inventory pass at a time: a second caller waits, then finds the caches warm.
        self._pass = asyncio.Lock()
        self._configs: dict[int, _ConfigEntry] = {}
        self._live: dict[int, _LiveEntry] = {}
        self.parses = 0  # configs parsed so far (a re-read with an unchanged digest is not parsed again)

    # ------------------------------------------------------------------ public

    async def inventory(self, prefix: str | None = None) -> IpInventory:
        """Every address of every guest matching prefix (an address, its start, or a CIDR network)."""
        wanted = self.address_filter(prefix)
        resources = await self.pve.cluster_resources()
        guests, notes = await self.read_all(resources)
        every = [item for g in guests for item in g.items()]
        items = sorted(
            (i for i in every if wanted is None or wanted.matches(i.address)), key=lambda i: i.sort_key
        )
        notes += [note for g in guests for note in g.notes]
        return IpInventory(items, notes, wanted, len(guests), len(every))

    async def guest_ips(self, vmid: int) -> GuestIps:
        """One guest's addresses and notes (for its detail page), through the same caches."""
        resources = await self.pve.cluster_resources()
        guest = resources.guest(vmid)
        if guest is None:
            raise NotFound(f"There is no guest {vmid}.")
        offline = guest.node in _offline_nodes(resources)
        ips = await self._read_guest(guest, offline)
        if offline:
            ips.note(
                "offline", f"Node {guest.node} is offline: only the configured addresses last read are shown."
            )
        return ips

    async def free_addresses(self, cidr: str | None, limit: int = DEFAULT_FREE_LIMIT) -> FreeAddresses:
        """Host addresses of the subnet that no guest, configured gateway or node uses, first `limit` listed."""
        try:
            network = parse_subnet(cidr)
        except ValueError as exc:
            raise Invalid(f"cidr: {exc}", field="cidr") from None
        if not 1 <= limit <= MAX_FREE_LIMIT:
            raise Invalid(f"limit: give a number from 1 to {MAX_FREE_LIMIT}", field="limit")
        resources = await self.pve.cluster_resources()
        guests, notes = await self.read_all(resources)
        nodes = await node_addresses(self.pve, notes)
        notes += [note for g in guests for note in g.notes if note.kind not in ("dynamic", "unknown")]
        return tally_free(network, guests, nodes, limit, notes)

    def vmids_for_ip(self, text: str) -> set[int]:
        """Guests with a cached address starting with text, or inside it when it is a CIDR; no upstream call.

        Only text with a '.' or ':' counts as an address, so a search for 'db' or '10' stays a name/vmid search.
        """
        value = text.strip().lower()
        if "." not in value and ":" not in value:
            return set()
        try:
            parsed = parse_address_filter(value)
        except ValueError:
            return set()
        # A search box finds as you type: '10.0.10.2' also finds 10.0.10.20-29.
        wanted = parsed if parsed is None or parsed.network else AddressFilter(value, start=value)
        if wanted is None:
            return set()
        return {
            vmid
            for vmid, records in self._cached_records()
            if any(wanted.matches(r.address) for r in records)
        }

    def _cached_records(self) -> list[tuple[int, list[AddressRecord]]]:
        """(vmid, addresses) from every cached config and live answer."""
        out = [(vmid, e.network.addresses) for vmid, e in self._configs.items() if e.network]
        return out + [(vmid, e.records) for vmid, e in self._live.items()]

    def forget(self, vmid: int) -> None:
        """Drop what is cached for a guest (after the app changed its config or power state)."""
        self._configs.pop(vmid, None)
        self._live.pop(vmid, None)

    @staticmethod
    def address_filter(prefix: str | None) -> AddressFilter | None:
        """The parsed filter; Invalid (field 'prefix') when it is not address-like."""
        try:
            return parse_address_filter(prefix)
        except ValueError as exc:
            raise Invalid(f"prefix: {exc}", field="prefix") from None

    # ------------------------------------------------------------------ reading

    async def read_all(self, resources: ClusterResources) -> tuple[list[GuestIps], list[IpNote]]:
        """Every guest's addresses, and one note per offline node that holds guests."""
        offline = _offline_nodes(resources)
        async with self._pass:
            self._prune(resources)
            guests = await asyncio.gather(*(self._read_guest(g, g.node in offline) for g in resources.guests))
        notes = []
        for node in sorted(offline):
            count = sum(1 for g in resources.guests if g.node == node)
            if count:
                message = (
                    f"Node {node} is offline: its {count} guests were not asked; their configured "
                    "addresses are shown as last read, where Proxgate had read them."
                )
                notes.append(IpNote("offline", message, node=node))
        return list(guests), notes

    async def _read_guest(self, guest: GuestResource, offline: bool) -> GuestIps:
        ips = GuestIps(guest)
        entry = self._stale_config(guest) if offline else await self._config(guest)
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
        if offline:
            return ips
        live = await self._live_data(guest, entry.network)
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

    async def _config(self, guest: GuestResource) -> _ConfigEntry:
        cached = self._stale_config(guest)
        # Failed reads are retried sooner than good ones are refreshed.
        ttl = self._config_ttl if cached and cached.network else self._live_ttl
        if cached and self._fresh(cached.read_at, ttl):
            return cached
        entry = _ConfigEntry(guest.node, guest.type, self._clock())
        try:
            async with self._limit:
                data = await self.pve.get(f"/nodes/{segment(guest.node)}/{guest.type}/{guest.vmid}/config")
        except PveError as exc:
            entry.problem = _problem_text("Its configuration", exc)
        else:
            entry.network = self._parsed(guest, data if isinstance(data, dict) else {}, cached)
        self._configs[guest.vmid] = entry
        return entry

    def _parsed(
        self, guest: GuestResource, data: dict[str, object], cached: _ConfigEntry | None
    ) -> GuestNetworkConfig:
        """The parsed config, reusing the cached parse when the digest is unchanged."""
        digest = str(data.get("digest") or "") or None
        if cached and cached.network and digest and cached.network.digest == digest:
            return cached.network
        self.parses += 1
        return parse_config(guest.type, data)

    async def _live_data(self, guest: GuestResource, network: GuestNetworkConfig) -> _LiveEntry | None:
        if not guest.running or guest.template or (guest.type == "qemu" and not network.agent):
            return None
        cached = self._live.get(guest.vmid)
        same = cached and (cached.node, cached.status) == (guest.node, guest.status)
        if cached and same and self._fresh(cached.read_at, self._live_ttl):
            return cached
        entry = _LiveEntry(guest.node, guest.status, self._clock(), [])
        base = f"/nodes/{segment(guest.node)}/{guest.type}/{guest.vmid}"
        try:
            async with self._limit:
                if guest.type == "qemu":
                    entry.records = parse_agent_interfaces(
                        await self.pve.get(f"{base}/agent/network-get-interfaces")
                    )
                else:
                    entry.records = parse_lxc_interfaces(await self.pve.get(f"{base}/interfaces"))
        except PveError as exc:
            entry.problem = _live_problem(guest, exc)
        self._live[guest.vmid] = entry
        return entry

    def _prune(self, resources: ClusterResources) -> None:
        """Forget guests that are gone."""
        for cache in (self._configs, self._live):
            for vmid in [v for v in cache if resources.guest(v) is None]:
                del cache[vmid]


def _live_problem(guest: GuestResource, exc: PveError) -> Problem:
    if guest.type == "lxc":
        return _problem_text("Its live interfaces", exc)
    if isinstance(exc, PveForbidden):
        return "forbidden", f"The guest agent's addresses cannot be read: {exc}"
    return (
        "agent",
        f"The guest agent does not answer ({one_line(exc.message)}): only configured addresses are shown.",
    )


def _offline_nodes(resources: ClusterResources) -> set[str]:
    return {n.node for n in resources.nodes if not n.online}
