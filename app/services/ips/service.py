"""IpService: every address Proxmox knows of, from guest configs and running guests (read through IpIndex).

The inventory answers from the index at once, whatever its age, and says how far its first reading has come
while guests are still to be read; the index reads in the background (configs first, then live answers) and
is kept in the database, so only a new install ever answers before it has read every guest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import ip_interface
from typing import Any

from app.operations.holders import Holder
from app.proxmox.client import PveClient
from app.proxmox.models import ClusterResources
from app.proxmox.netparse import AddressRecord, IPAddress
from app.services.errors import Invalid, NotFound
from app.services.ips.cache import CONCURRENCY, CONFIG_TTL, LIVE_TTL, as_it_is_now, offline_nodes
from app.services.ips.free import (
    DEFAULT_FREE_LIMIT,
    MAX_FREE_LIMIT,
    Taken,
    Window,
    node_addresses,
    tally_free,
)
from app.services.ips.fresh import address_holders, reread
from app.services.ips.index import IpIndex
from app.services.ips.probe import AddressProbe
from app.services.ips.results import FreeAddresses, GuestIps, IndexProgress, IpInventory, IpItem, IpNote
from app.services.ips.scope import UNKNOWN_KINDS, GuestScope, related_notes, unknown_vmids
from app.services.ips.subnets import AddressFilter, IPNetwork, parse_address_filter, parse_subnet

__all__ = ["CONCURRENCY", "CONFIG_TTL", "LIVE_TTL", "IpService"]

# Free addresses the probe checks before the finder offers them (the first of the list: what people take), and
# how many times the list is tallied again to replace those that answered.
PROBED = 32
PROBE_ROUNDS = 4


class IpService(IpIndex):
    """The IP inventory over the shared client; one instance per app keeps the index."""

    def __init__(self, pve: PveClient, *, probe: AddressProbe | None = None, **options: Any) -> None:
        super().__init__(pve, **options)
        self.probe = probe or AddressProbe(frozenset())
        # The inventory built from the caches, kept while they and the guests' identities stay the same.
        self._view: tuple[object, _View] | None = None

    # ------------------------------------------------------------------ public

    async def inventory(self, prefix: str | None = None, scope: GuestScope | None = None) -> IpInventory:
        """Every address matching prefix (an address, its start, or a CIDR network) of the guests in scope,
        and the notes about them."""
        wanted = self.address_filter(prefix)
        scope = scope or GuestScope()
        resources = await self.pve.cluster_resources()
        view = await self._current_view(resources)
        items = [
            i
            for i in view.items
            if scope.holds(i.vmid, i.node, i.status) and (wanted is None or wanted.matches(i.address))
        ]
        listed = {i.vmid for i in items}
        notes = related_notes(view.notes, resources, scope, wanted, listed, view.gateways)
        unknown = {
            vmid
            for vmid in unknown_vmids(view.notes)
            if (guest := resources.guest(vmid)) is not None and scope.holds(vmid, guest.node, guest.status)
        }
        return IpInventory(items, notes, wanted, view.guests, len(view.items), len(unknown), view.progress)

    async def progress(self) -> IndexProgress:
        """How far the index's first reading has come (starting it if it has not begun); answers at once."""
        return await self._ready(await self.pve.cluster_resources(), wait=0)

    async def _current_view(self, resources: ClusterResources) -> _View:
        """Every address, sorted and marked, from the caches; rebuilt only when a cached answer changed, and,
        once the index is whole, not while a refresh runs (which rebuilds it when done)."""
        await self._ready(resources)
        if self._view is not None:
            key, view = self._view
            if key == self._view_key(resources) or (view.progress.complete and self._reading()):
                return view
        return self._build_view(resources)

    async def _index_read(self, resources: ClusterResources) -> None:
        self._build_view(resources)

    def _build_view(self, resources: ClusterResources) -> _View:
        guests, notes = self.known_all(resources)
        every = sorted((item for g in guests for item in g.items()), key=lambda i: i.sort_key)
        notes += [note for g in guests for note in g.notes]
        gateways = tuple(
            (gateway, g.guest.vmid)
            for g in guests
            if g.config
            for gateway in dict.fromkeys(g.config.gateways)
        )
        progress = self.progress_of(resources)
        view = _View(_mark_shared(every), tuple(notes), len(guests), gateways, progress)
        self._view = (self._view_key(resources), view)
        return view

    def _view_key(self, resources: ClusterResources) -> object:
        return (self._generation, _identities(resources))

    async def guest_ips(
        self, vmid: int, config: Awaitable[Any] | None = None, status: Awaitable[Any] | None = None
    ) -> GuestIps:
        """One guest's addresses and notes (for its detail page), through the same caches; config and status are
        the page's own reads of the guest's config and current status, shared rather than made twice."""
        resources = await self.pve.cluster_resources()
        guest = resources.guest(vmid)
        if guest is None:
            raise NotFound(f"There is no guest {vmid}.")
        if status is not None:
            guest = await as_it_is_now(guest, status)
        offline = guest.node in offline_nodes(resources)
        # A failure the inventory keeps for a while is asked again here: one read, and the page must recover.
        ips = await self._read_guest(guest, offline, retry_failed=True, config=config)
        if offline:
            ips.note(
                "offline", f"Node {guest.node} is offline: only the configured addresses last read are shown."
            )
        return ips

    async def free_addresses(
        self, cidr: str | None, limit: int = DEFAULT_FREE_LIMIT, skip: int = 0
    ) -> FreeAddresses:
        """Host addresses of the subnet that no guest, configured gateway or node uses: `limit` of them, after
        the first `skip`. Answered from the same index as the inventory (refreshed in the background), the
        configs of the guests that could hold an address of the subnet read again first."""
        try:
            network = parse_subnet(cidr)
        except ValueError as exc:
            raise Invalid(f"cidr: {exc}", field="cidr") from None
        if not 1 <= limit <= MAX_FREE_LIMIT:
            raise Invalid(f"limit: give a number from 1 to {MAX_FREE_LIMIT}", field="limit")
        await self.read_index()
        resources = await self.pve.cluster_resources()
        view = await self._current_view(resources)
        fresh = await reread(self, resources, [network])
        items, gateways, known = (
            fresh.items(view.items),
            fresh.gateways(view.gateways),
            fresh.notes(view.notes),
        )
        notes: list[IpNote] = []
        nodes = await node_addresses(self.pve, notes)
        subnet = AddressFilter(str(network), network=network)
        listed = {i.vmid for i in items if i.address in network}
        notes += [
            n
            for n in related_notes(known, resources, GuestScope(), subnet, listed, gateways)
            if n.kind not in UNKNOWN_KINDS
        ]
        taken = Taken(items, gateways, nodes)
        free = tally_free(network, taken, Window(limit, skip), notes, len(unknown_vmids(known)))
        return await self._checked_beyond(network, taken, Window(limit, skip), free)

    async def _checked_beyond(
        self, network: IPNetwork, taken: Taken, window: Window, free: FreeAddresses
    ) -> FreeAddresses:
        """The free list once the probe (when on) checked the first PROBED of it: what answered is taken, and
        the list is tallied again until its first PROBED were all checked."""
        probed: set[IPAddress] = set()
        outside: dict[IPAddress, str] = {}
        for _ in range(PROBE_ROUNDS if self.probe.enabled else 0):
            todo = [a for a in free.free[:PROBED] if a not in probed]
            if not todo:
                break
            probed.update(todo)
            found = await self.probe.probe(todo)
            if found:
                outside.update((a, answer.how) for a, answer in found.items())
                again = Taken(taken.items, taken.gateways, taken.nodes, outside)
                free = tally_free(network, again, window, free.notes, free.unknown_guests)
        free.checks, free.probed = self.probe.summary(), len(probed)
        return free

    async def holders(self, addresses: Sequence[str]) -> list[Holder]:
        """The guests that hold any of the addresses ('10.0.20.15/24'), read again now, and (with the probe
        on) what answers for the others outside Proxmox (AddressBook)."""
        held = await address_holders(self, await self.pve.cluster_resources(), addresses)
        rest = [
            ip_interface(a).ip for a in addresses if str(ip_interface(a).ip) not in {h.address for h in held}
        ]
        found = await self.probe.probe(rest)
        return held + [Holder(str(a.address), 0, "", "", outside=a.how) for a in found.values()]

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
        self._generation += 1
        self._view = None

    @staticmethod
    def address_filter(prefix: str | None) -> AddressFilter | None:
        """The parsed filter; Invalid (field 'prefix') when it is not address-like."""
        try:
            return parse_address_filter(prefix)
        except ValueError as exc:
            raise Invalid(f"prefix: {exc}", field="prefix") from None

    # ------------------------------------------------------------------ reading

    async def read_all(
        self, resources: ClusterResources, *, stale_ok: bool = False
    ) -> tuple[list[GuestIps], list[IpNote]]:
        """Every guest's addresses, after reading what is due (with stale_ok, only guests never read)."""
        await self._loaded()
        await self._read_pass(resources, refresh=not stale_ok)
        return self.known_all(resources)

    def known_all(self, resources: ClusterResources) -> tuple[list[GuestIps], list[IpNote]]:
        """Every guest's addresses as the caches hold them, and one note per offline node that holds guests."""
        offline = offline_nodes(resources)
        guests = [self._known_guest(g, g.node in offline) for g in resources.guests]
        notes = []
        for node in sorted(offline):
            count = sum(1 for g in resources.guests if g.node == node)
            if count:
                message = (
                    f"Node {node} is offline: its {count} guests were not asked; their configured "
                    "addresses are shown as last read, where Proxgate had read them."
                )
                notes.append(IpNote("offline", message, node=node))
        return guests, notes


@dataclass(frozen=True)
class _View:
    """Every address of the cluster, sorted and marked, the notes, and how many guests were looked at."""

    items: list[IpItem]
    notes: tuple[IpNote, ...]
    guests: int
    # (gateway, vmid) of every gateway a guest's config sets, once per guest.
    gateways: tuple[tuple[IPAddress, int], ...] = ()
    progress: IndexProgress = field(default_factory=IndexProgress)


def _identities(resources: ClusterResources) -> tuple[tuple[object, ...], ...]:
    """What of each guest an inventory row shows: a change in any of it rebuilds the view."""
    offline = offline_nodes(resources)
    return tuple(
        (g.vmid, g.name, g.type, g.node, g.status, g.template, g.node in offline) for g in resources.guests
    )


def _mark_shared(every: list[IpItem]) -> list[IpItem]:
    """The items, each naming the other guests that have its address when some guest's config sets it.

    Addresses only guest agents report (172.17.0.1 of every Docker host) are each guest's own business.
    """
    owners: dict[IPAddress, set[int]] = {}
    configured: set[IPAddress] = set()
    for item in every:
        owners.setdefault(item.address, set()).add(item.vmid)
        if any(source.startswith("config:") for source in item.sources):
            configured.add(item.address)
    return [
        replace(i, shared_with=tuple(sorted(owners[i.address] - {i.vmid})))
        if i.address in configured and len(owners[i.address]) > 1
        else i
        for i in every
    ]
