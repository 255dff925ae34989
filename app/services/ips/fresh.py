"""Fresh reads before an address is offered or accepted: the configs of the guests that could hold it.

The index may be a minute old, and someone may have given a guest an address in the Proxmox UI since. Before
the free-address finder offers an address, or a new guest takes one, the configs of the guests that could hold
it are read again now, whatever their age: those with an address or a gateway in its subnet per the index, and
those whose config is not known (new since the last pass, or whose read failed). Reads share the cache's bounded
concurrency; a re-read config whose digest is unchanged is not parsed again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import ip_interface

from app.operations.holders import Holder
from app.proxmox.models import ClusterResources, GuestResource
from app.proxmox.netparse import IPAddress
from app.services.ips.cache import IpCache, offline_nodes
from app.services.ips.results import GuestIps, IpItem, IpNote
from app.services.ips.subnets import IPNetwork

__all__ = ["Fresh", "address_holders", "reread"]


@dataclass(frozen=True)
class Fresh:
    """The guests whose configs were just read again, and what they hold now."""

    guests: tuple[GuestIps, ...]

    @property
    def vmids(self) -> set[int]:
        """The guests read again."""
        return {g.guest.vmid for g in self.guests}

    def items(self, cached: Iterable[IpItem]) -> list[IpItem]:
        """The index's items with those of the re-read guests replaced by what was just read."""
        again = self.vmids
        return [i for i in cached if i.vmid not in again] + [i for g in self.guests for i in g.items()]

    def notes(self, cached: Iterable[IpNote]) -> list[IpNote]:
        """The index's notes, those about the re-read guests as just read."""
        again = self.vmids
        return [n for n in cached if n.vmid not in again] + [n for g in self.guests for n in g.notes]

    def gateways(self, cached: Iterable[tuple[IPAddress, int]]) -> list[tuple[IPAddress, int]]:
        """The index's (gateway, vmid) pairs, those of the re-read guests as just read."""
        again = self.vmids
        now = [(gw, g.guest.vmid) for g in self.guests if g.config for gw in dict.fromkeys(g.config.gateways)]
        return [pair for pair in cached if pair[1] not in again] + now


def _could_hold(cache: IpCache, guest: GuestResource, networks: Sequence[IPNetwork]) -> bool:
    """True when the guest's config is unknown, or the index has an address or gateway of it in a network."""
    entry = cache._stale_config(guest)
    if entry is None or entry.network is None:
        return True
    live = cache._live.get(guest.vmid)
    addresses = [a.address for a in entry.network.addresses] + [
        r.address for r in (live.records if live else [])
    ]
    addresses += entry.network.gateways
    return any(a.version == n.version and a in n for a in addresses for n in networks)


async def reread(cache: IpCache, resources: ClusterResources, networks: Sequence[IPNetwork]) -> Fresh:
    """Read again now the configs of the guests that could hold an address in the networks (bounded
    concurrency: the cache's own limit); guests of offline nodes answer with what was last read."""
    offline = offline_nodes(resources)
    due = [g for g in resources.guests if _could_hold(cache, g, networks)]

    async def one(guest: GuestResource) -> GuestIps:
        if guest.node in offline:
            return await cache._read_guest(guest, True)
        before = cache._stale_config(guest)
        # A config read handed in is always made: the time to live is bypassed; live answers stay as cached.
        ips = await cache._read_guest(guest, False, stale_ok=True, config=cache._read_config(guest))
        if ips.config is None and before is not None and before.network is not None:
            # A read that failed tells nothing new: the addresses read before still hold (its note says why).
            ips.records.extend(before.network.addresses)
        return ips

    return Fresh(tuple(await asyncio.gather(*(one(g) for g in due))))


async def address_holders(cache: IpCache, resources: ClusterResources, wanted: Sequence[str]) -> list[Holder]:
    """The guests (templates aside: they never run) that hold any of the wanted addresses ('10.0.20.15/24'),
    their subnets' candidates read again first."""
    interfaces = [ip_interface(text) for text in wanted]
    fresh = await reread(cache, resources, [i.network for i in interfaces])
    addresses = {i.ip for i in interfaces}
    found = {
        (str(item.address), item.vmid): Holder(str(item.address), item.vmid, item.name, item.status)
        for g in fresh.guests
        if not g.guest.template
        for item in g.items()
        if item.address in addresses
    }
    return sorted(found.values(), key=lambda h: (h.address, h.vmid))
