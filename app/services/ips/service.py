"""IpService: every address Proxmox knows of, from guest configs and running guests (read through IpCache).

The inventory and the free addresses of a subnet answer from the caches even when they are older than that,
and refresh them in the background: at thousands of guests a full pass takes longer than LIVE_TTL, so it could
never answer warm. Only guests never read before are read while the caller waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.operations.holders import Holder
from app.proxmox.client import PveClient
from app.proxmox.models import ClusterResources
from app.proxmox.netparse import AddressRecord, IPAddress
from app.services.errors import Invalid, NotFound
from app.services.ips.cache import (
    CONCURRENCY,
    CONFIG_TTL,
    LIVE_TTL,
    IpCache,
    as_it_is_now,
    offline_nodes,
)
from app.services.ips.free import (
    DEFAULT_FREE_LIMIT,
    MAX_FREE_LIMIT,
    Taken,
    Window,
    node_addresses,
    tally_free,
)
from app.services.ips.fresh import address_holders, reread
from app.services.ips.results import FreeAddresses, GuestIps, IpInventory, IpItem, IpNote
from app.services.ips.scope import UNKNOWN_KINDS, GuestScope, related_notes, unknown_vmids
from app.services.ips.subnets import AddressFilter, parse_address_filter, parse_subnet

__all__ = ["CONCURRENCY", "CONFIG_TTL", "LIVE_TTL", "IpService"]

log = logging.getLogger(__name__)


class IpService(IpCache):
    """The IP inventory over the shared client; one instance per app keeps the caches."""

    def __init__(self, pve: PveClient, **options: Any) -> None:
        super().__init__(pve, **options)
        # One inventory pass at a time: a second caller waits, then finds the caches warm.
        self._pass = asyncio.Lock()
        self._refresh: asyncio.Task[None] | None = None
        # When the last full pass ended and how long it took: the next starts no sooner than LIVE_TTL after it,
        # nor than twice its length (so a cluster whose pass takes minutes is not read without pause).
        self._refreshed_at = float("-inf")
        self._pass_seconds = 0.0
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
        return IpInventory(items, notes, wanted, view.guests, len(view.items), len(unknown))

    async def _current_view(self, resources: ClusterResources) -> _View:
        """Every address, sorted and marked, from the caches; rebuilt only when a cached answer changed, and
        not while a background refresh runs (which rebuilds it when done)."""
        refreshing = self._refresh is not None and not self._refresh.done()
        if self._view is not None and (refreshing or self._view[0] == self._view_key(resources)):
            view = self._view[1]
        else:
            view = await self._build_view(resources, stale_ok=True)
        if self._clock() - self._refreshed_at >= max(self._live_ttl, 2 * self._pass_seconds):
            self._refresh_later(resources)
        return view

    async def _build_view(self, resources: ClusterResources, *, stale_ok: bool) -> _View:
        started, first = self._clock(), self._view is None
        guests, notes = await self.read_all(resources, stale_ok=stale_ok)
        if first or not stale_ok:  # a pass that read everything due: the next is due from now
            self._refreshed_at, self._pass_seconds = self._clock(), self._clock() - started
        every = sorted((item for g in guests for item in g.items()), key=lambda i: i.sort_key)
        notes += [note for g in guests for note in g.notes]
        gateways = tuple(
            (gateway, g.guest.vmid)
            for g in guests
            if g.config
            for gateway in dict.fromkeys(g.config.gateways)
        )
        view = _View(_mark_shared(every), tuple(notes), len(guests), gateways)
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
        return tally_free(network, taken, Window(limit, skip), notes, len(unknown_vmids(known)))

    async def holders(self, addresses: Sequence[str]) -> list[Holder]:
        """The guests that hold any of the addresses ('10.0.20.15/24'), read again now (AddressBook)."""
        return await address_holders(self, await self.pve.cluster_resources(), addresses)

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

    def _refresh_later(self, resources: ClusterResources) -> None:
        """Read again, in the background, what is older than its time to live (one pass at a time)."""
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._refresh_all(resources))

    async def _refresh_all(self, resources: ClusterResources) -> None:
        try:
            await self._build_view(resources, stale_ok=False)
        except Exception:  # a background task has nobody to tell but the log
            log.exception("refreshing the IP inventory failed")

    async def refreshed(self) -> None:
        """Wait for the background refresh, if one runs."""
        if self._refresh is not None:
            await self._refresh

    async def aclose(self) -> None:
        """Stop the background refresh (the app is shutting down)."""
        if self._refresh is not None and not self._refresh.done():
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh

    async def read_all(
        self, resources: ClusterResources, *, stale_ok: bool = False
    ) -> tuple[list[GuestIps], list[IpNote]]:
        """Every guest's addresses, and one note per offline node that holds guests; with stale_ok, cached
        answers of any age (only guests never read are read now, and then one pass at a time)."""
        offline = offline_nodes(resources)

        async def each() -> list[GuestIps]:
            reads = (self._read_guest(g, g.node in offline, stale_ok) for g in resources.guests)
            return list(await asyncio.gather(*reads))

        if stale_ok and all(self._stale_config(g) for g in resources.guests):
            guests = await each()
        else:
            async with self._pass:
                self._prune(resources)
                guests = await each()
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
